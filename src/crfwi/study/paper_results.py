"""The paper's result tables (Chen et al., ICLR 2026, PAPER.md §5) as data, with their sources.

Tables 1, 4, 5 and 7 are transcribed *exactly as printed* (the text blocks below are the
PAPER.md tables verbatim); every value keeps its printed text and its source (table, metric,
column, row). Each table keeps its own values where the paper disagrees with itself (see
:data:`INCONSISTENCIES`): :func:`lookup` reads Tables 4/5 by default (they print all three
metrics) and Table 1 only when asked (``table="1"``).

Directions: SSIM higher is better, MSE and MAE lower is better (Table 5 prints "SSIM ↓", a typo).
Units (inferred, PAPER.md §4.1): velocity in km/s, so MSE in (km/s)² and MAE in km/s.

Names: datasets are crfwi's preset names (``marmousi``, ``overthrust``, ``salt``, ``bp2004``);
columns are crfwi's initial-model / scenario names (``smooth``, ``linear``, ``constant``,
``noise4``, ``noise8``, ``lowcut4``, ``lowcut6``, ``shots9``, ``shots5``); methods are accepted as
crfwi's names or the paper's (``ig`` or ``IG-FWI``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PaperValue", "Column", "DATASETS", "DATASET_TITLES", "METRICS", "HIGHER_IS_BETTER",
           "PAPER_METHODS", "METHOD_NAMES", "TABLE4_COLUMNS", "TABLE5_COLUMNS", "TABLE1_COLUMNS",
           "COMPUTE_COLUMNS", "INCONSISTENCIES", "NOTES", "paper_name", "lookup", "column_values",
           "best", "compute", "table_rows", "primary_table"]

DATASETS = ("marmousi", "bp2004", "salt", "overthrust")
DATASET_TITLES = {"marmousi": "Marmousi", "bp2004": "2004 BP", "salt": "SEG/EAGE Salt",
                  "overthrust": "SEG/EAGE Overthrust"}
METRICS = ("ssim", "mse", "mae")
HIGHER_IS_BETTER = {"ssim": True, "mse": False, "mae": False}
METRIC_LABELS = {"ssim": "SSIM ↑", "mse": "MSE ↓", "mae": "MAE ↓"}

#: The row order of Tables 1, 4 and 5, then Table 7's LRG-FWI.
PAPER_METHODS = ("ADFWI", "ADFWI-TV", "WECI-FWI", "MS-FWI", "IFWI", "WinFWI", "LR-FWI", "MPE-FWI",
                 "IG-FWI", "LRG-FWI")
#: crfwi's method name -> the paper's (as crfwi.methods.registry.METHODS[name].paper).
METHOD_NAMES = {"pixel": "ADFWI", "adfwi-tv": "ADFWI-TV", "weci-fwi": "WECI-FWI",
                "ms-fwi": "MS-FWI", "siren": "IFWI", "gabor": "WinFWI", "lowrank": "LR-FWI",
                "hashgrid": "MPE-FWI", "ig": "IG-FWI", "lrg": "LRG-FWI"}


@dataclass(frozen=True)
class PaperValue:
    """One printed number: ``value``, its ``text`` as printed, and where it is printed."""

    value: float
    text: str
    source: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Column:
    """A result column: crfwi's ``key``, our runs' ``init`` and ``scenario`` (``init`` None = the
    degraded-data columns, whose initial model the paper leaves ambiguous, PAPER.md §4.1), the
    report's ``label`` and the header the paper ``printed``."""

    key: str
    label: str
    init: str | None
    scenario: str
    printed: str


TABLE4_COLUMNS = (
    Column("smooth", "Smooth", "smooth", "clean", "Smooth"),
    Column("linear", "Linear", "linear", "clean", "Linear"),
    Column("constant", "Constant", "constant", "clean", "Constant"),
    Column("noise4", "4σ0", None, "noise4", "4σ0"),
    Column("noise8", "8σ0", None, "noise8", "8σ0"),
    Column("lowcut4", "4 Hz", None, "lowcut4", "4 Hz"),
    Column("lowcut6", "6 Hz", None, "lowcut6", "6 Hz"),
    Column("shots9", "9 shots", None, "shots9", "9 shots"),
    Column("shots5", "5 shots", None, "shots5", "5 shots"),
)
_T5_PREFIX = {"bp2004": "BP", "salt": "Salt", "overthrust": "Over"}
#: Table 5's columns per dataset (BP, Salt, Overthrust × Smooth / Linear / Constant).
TABLE5_COLUMNS = {ds: tuple(Column(c.key, c.label, c.init, c.scenario, f"{p}-{c.label[0]}")
                            for c in TABLE4_COLUMNS[:3])
                  for ds, p in _T5_PREFIX.items()}
#: Table 1's MSE columns: (printed header, dataset, column key).
TABLE1_COLUMNS = (
    ("Marm Smooth", "marmousi", "smooth"), ("Marm Constant", "marmousi", "constant"),
    ("Marm G-Noise", "marmousi", "noise8"), ("Marm F-Cutoff", "marmousi", "lowcut6"),
    ("Marm S-Shots", "marmousi", "shots5"), ("Over Smooth", "overthrust", "smooth"),
    ("Over Constant", "overthrust", "constant"), ("Salt Smooth", "salt", "smooth"),
    ("Salt Constant", "salt", "constant"), ("BP Smooth", "bp2004", "smooth"),
    ("BP Constant", "bp2004", "constant"),
)
#: Table 1's compute columns: key -> printed header. Measured on one BP shot on an RTX 3090.
COMPUTE_COLUMNS = {"time_s_per_epoch": "Time (s/epoch)", "params_k": "Params (K)",
                   "memory_gb": "Memory (GB)"}

INCONSISTENCIES = (
    "MS-FWI Overthrust Smooth MSE: 0.0612 in Table 1 vs 0.0752 in Table 5.",
    "MPE-FWI Marmousi 5 shots MSE: 0.3338 in Table 1 (S-Shots) vs 0.3393 in Table 4; "
    "0.3338 is Table 4's 9-shot value.",
    "MPE-FWI Marmousi 6 Hz MSE: 0.3322 in Table 1 (F-Cutoff) vs 0.3320 in Table 4; "
    "0.3322 is Table 4's 4 Hz value.",
    "MPE-FWI BP Constant MSE: 1.602 in Table 1 vs 1.6024 in Table 5 (rounding).",
)
NOTES = (
    "Table 5 prints \"SSIM ↓\"; SSIM is higher-is-better (a typo).",
    "Table 1's compute columns were measured on one shot of the BP model on an RTX 3090 "
    "(memory = GPU GB, params in thousands).",
    "The paper reports single runs (no seeds, no spread).",
    "The best/second-best bold/underline of the PDF was lost in the text; best marks here are "
    "recomputed from the numbers.",
)

# ----------------------------------------------------------------------------------------------
# The tables, verbatim from PAPER.md §5 (Table 1: MSE + compute; Tables 4/5: SSIM, MSE, MAE;
# Table 7: constant-start MSE incl. LRG-FWI).
# ----------------------------------------------------------------------------------------------
_TABLE1 = """
| Method | Marm Smooth | Marm Constant | Marm G-Noise | Marm F-Cutoff | Marm S-Shots | Over Smooth | Over Constant | Salt Smooth | Salt Constant | BP Smooth | BP Constant | Time (s/epoch) | Params (K) | Memory (GB) |
| ADFWI | 0.2132 | 1.1522 | 0.5422 | 0.4975 | 0.4730 | 0.0592 | 1.3364 | 0.6462 | 0.6337 | 0.1003 | 0.4281 | 1.89 | 94.00 | 17.09 |
| ADFWI-TV | 0.2449 | 0.9386 | 0.3875 | 0.3764 | 0.3547 | 0.1154 | 1.3142 | 0.5041 | 0.5318 | 0.0995 | 0.4259 | 1.92 | 94.00 | 17.09 |
| WECI-FWI | 0.2977 | 1.2537 | 0.6366 | 0.3220 | 0.3337 | 0.1182 | 1.5526 | 0.3032 | 1.0293 | 0.0951 | 0.3847 | 3.12 | 94.00 | 17.56 |
| MS-FWI | 0.1683 | 1.1313 | 0.3547 | 0.4198 | 0.3325 | 0.0612 | 1.0802 | 0.5358 | 0.9234 | 0.0672 | 0.4667 | 2.25 | 94.00 | 17.09 |
| IFWI | 0.1907 | 0.9474 | 0.3374 | 0.3358 | 0.3483 | 0.0683 | 0.6432 | 0.1201 | 0.7412 | 0.0719 | 0.1412 | 1.88 | 50.05 | 17.48 |
| WinFWI | 0.2013 | 0.4689 | 0.3514 | 0.3460 | 0.3239 | 0.0682 | 0.5738 | 0.1223 | 0.3549 | 0.0812 | 0.1083 | 1.90 | 60.63 | 18.20 |
| LR-FWI | 0.1638 | 0.2893 | 0.2553 | 0.2276 | 0.2641 | 0.0548 | 0.1592 | 0.2785 | 0.2368 | 0.0481 | 0.1248 | 1.92 | 77.91 | 17.10 |
| MPE-FWI | 0.1427 | 2.2266 | 0.2990 | 0.3322 | 0.3338 | 0.0613 | 1.2887 | 0.8534 | 1.1008 | 0.0586 | 1.602 | 1.91 | 14.26 | 17.25 |
| IG-FWI | 0.1423 | 0.2961 | 0.2151 | 0.1846 | 0.1654 | 0.0587 | 0.5724 | 0.1181 | 0.1883 | 0.0521 | 0.0843 | 1.91 | 39.34 | 17.41 |
"""

_T4_SSIM = """
| Method | Smooth | Linear | Constant | 4σ0 | 8σ0 | 4 Hz | 6 Hz | 9 shots | 5 shots |
| ADFWI | 0.6260 | 0.2689 | 0.0549 | 0.2167 | 0.1401 | 0.2594 | 0.2287 | 0.2499 | 0.1969 |
| ADFWI-TV | 0.5466 | 0.2735 | 0.1503 | 0.2628 | 0.2456 | 0.2607 | 0.2462 | 0.2718 | 0.2289 |
| WECI-FWI | 0.4239 | 0.3638 | 0.0220 | 0.1193 | 0.0948 | 0.3581 | 0.3475 | 0.3240 | 0.2926 |
| MS-FWI | 0.7093 | 0.6559 | 0.0952 | 0.5274 | 0.4218 | 0.5298 | 0.4193 | 0.5362 | 0.4798 |
| IFWI | 0.6510 | 0.6173 | 0.5252 | 0.5410 | 0.4607 | 0.5587 | 0.5124 | 0.5802 | 0.4234 |
| WinFWI | 0.6498 | 0.5982 | 0.5617 | 0.5220 | 0.3960 | 0.5442 | 0.4514 | 0.5938 | 0.5002 |
| LR-FWI | 0.6853 | 0.6662 | 0.5917 | 0.5714 | 0.5079 | 0.6414 | 0.6166 | 0.6250 | 0.5665 |
| MPE-FWI | 0.7177 | 0.3681 | 0.1888 | 0.3620 | 0.3008 | 0.2828 | 0.2723 | 0.2837 | 0.2745 |
| IG-FWI | 0.7183 | 0.7130 | 0.6773 | 0.6182 | 0.6048 | 0.6774 | 0.6650 | 0.7030 | 0.6808 |
"""

_T4_MSE = """
| Method | Smooth | Linear | Constant | 4σ0 | 8σ0 | 4 Hz | 6 Hz | 9 shots | 5 shots |
| ADFWI | 0.2132 | 0.4921 | 1.1522 | 0.4965 | 0.5422 | 0.4965 | 0.4975 | 0.4831 | 0.4730 |
| ADFWI-TV | 0.2449 | 0.3780 | 0.9386 | 0.3831 | 0.3875 | 0.3807 | 0.3764 | 0.3741 | 0.3547 |
| WECI-FWI | 0.2977 | 0.3347 | 1.2537 | 0.5414 | 0.6366 | 0.3320 | 0.3220 | 0.3338 | 0.3337 |
| MS-FWI | 0.1683 | 0.2651 | 1.1313 | 0.2824 | 0.3547 | 0.3556 | 0.4198 | 0.2867 | 0.3325 |
| IFWI | 0.1907 | 0.2375 | 0.9474 | 0.3072 | 0.3374 | 0.3040 | 0.3358 | 0.2857 | 0.3483 |
| WinFWI | 0.2013 | 0.2917 | 0.4689 | 0.3042 | 0.3514 | 0.3029 | 0.3460 | 0.2401 | 0.3239 |
| LR-FWI | 0.1638 | 0.1733 | 0.2893 | 0.2218 | 0.2553 | 0.1998 | 0.2276 | 0.2064 | 0.2641 |
| MPE-FWI | 0.1427 | 0.3755 | 2.2266 | 0.3271 | 0.2990 | 0.3322 | 0.3320 | 0.3338 | 0.3393 |
| IG-FWI | 0.1423 | 0.1534 | 0.2961 | 0.2124 | 0.2151 | 0.1653 | 0.1846 | 0.1602 | 0.1654 |
"""

_T4_MAE = """
| Method | Smooth | Linear | Constant | 4σ0 | 8σ0 | 4 Hz | 6 Hz | 9 shots | 5 shots |
| ADFWI | 0.2682 | 0.4571 | 0.8866 | 0.4678 | 0.5084 | 0.4626 | 0.4757 | 0.4708 | 0.4555 |
| ADFWI-TV | 0.2800 | 0.3979 | 0.8074 | 0.4028 | 0.4084 | 0.4005 | 0.4034 | 0.4077 | 0.3874 |
| WECI-FWI | 0.3389 | 0.3628 | 0.9170 | 0.5719 | 0.6251 | 0.3475 | 0.3605 | 0.3726 | 0.3817 |
| MS-FWI | 0.2201 | 0.2719 | 0.8590 | 0.3314 | 0.3917 | 0.2941 | 0.3996 | 0.3146 | 0.3435 |
| IFWI | 0.2468 | 0.2786 | 0.5568 | 0.3224 | 0.3504 | 0.3165 | 0.3415 | 0.3053 | 0.3737 |
| WinFWI | 0.2480 | 0.3097 | 0.3979 | 0.3227 | 0.3633 | 0.3182 | 0.3536 | 0.2744 | 0.3331 |
| LR-FWI | 0.2278 | 0.2472 | 0.3149 | 0.2841 | 0.3090 | 0.2495 | 0.2679 | 0.2561 | 0.2921 |
| MPE-FWI | 0.2114 | 0.3977 | 1.1312 | 0.3649 | 0.3514 | 0.3791 | 0.3833 | 0.3811 | 0.3863 |
| IG-FWI | 0.2109 | 0.2196 | 0.2989 | 0.2644 | 0.2706 | 0.2312 | 0.2368 | 0.2243 | 0.2307 |
"""

_T5_SSIM = """
| Method | BP-S | BP-L | BP-C | Salt-S | Salt-L | Salt-C | Over-S | Over-L | Over-C |
| ADFWI | 0.5104 | 0.2391 | 0.0920 | 0.1717 | 0.3770 | 0.2334 | 0.7334 | 0.4699 | 0.0324 |
| ADFWI-TV | 0.5042 | 0.2573 | 0.0963 | 0.2778 | 0.5272 | 0.3315 | 0.4497 | 0.3098 | 0.1035 |
| WECI-FWI | 0.4392 | 0.2111 | 0.0973 | 0.3290 | 0.2525 | 0.0877 | 0.4958 | 0.1413 | 0.0931 |
| MS-FWI | 0.6872 | 0.4157 | 0.0493 | 0.2590 | 0.4515 | 0.3020 | 0.7033 | 0.6802 | 0.0456 |
| IFWI | 0.6168 | 0.5807 | 0.5533 | 0.5882 | 0.5177 | 0.4189 | 0.7124 | 0.6849 | 0.6398 |
| WinFWI | 0.5926 | 0.3579 | 0.6362 | 0.5507 | 0.5205 | 0.5123 | 0.6946 | 0.6737 | 0.6148 |
| LR-FWI | 0.7003 | 0.4992 | 0.4868 | 0.4222 | 0.4944 | 0.4636 | 0.7305 | 0.7005 | 0.6985 |
| MPE-FWI | 0.6351 | 0.3221 | 0.0968 | 0.1554 | 0.5053 | 0.2100 | 0.6571 | 0.4506 | 0.0557 |
| IG-FWI | 0.7316 | 0.6459 | 0.7274 | 0.5910 | 0.5265 | 0.5138 | 0.7272 | 0.6985 | 0.6501 |
"""

_T5_MSE = """
| Method | BP-S | BP-L | BP-C | Salt-S | Salt-L | Salt-C | Over-S | Over-L | Over-C |
| ADFWI | 0.1003 | 0.2568 | 0.4281 | 0.6462 | 0.3292 | 0.6337 | 0.0592 | 0.1902 | 1.3364 |
| ADFWI-TV | 0.0995 | 0.2593 | 0.4259 | 0.5041 | 0.2143 | 0.5318 | 0.1154 | 0.1985 | 1.3142 |
| WECI-FWI | 0.0951 | 0.2748 | 0.3847 | 0.3032 | 0.9294 | 1.0293 | 0.1182 | 0.2987 | 1.5526 |
| MS-FWI | 0.0672 | 0.1631 | 0.4667 | 0.5358 | 0.3271 | 0.9234 | 0.0752 | 0.0797 | 1.0802 |
| IFWI | 0.0719 | 0.1143 | 0.1412 | 0.1201 | 0.2214 | 0.7412 | 0.0683 | 0.0804 | 0.6432 |
| WinFWI | 0.0812 | 0.1827 | 0.1083 | 0.1223 | 0.2241 | 0.3549 | 0.0682 | 0.0932 | 0.5738 |
| LR-FWI | 0.0481 | 0.1193 | 0.1248 | 0.2785 | 0.2143 | 0.2368 | 0.0548 | 0.0724 | 0.1592 |
| MPE-FWI | 0.0586 | 0.3387 | 1.6024 | 0.8534 | 0.2942 | 1.1008 | 0.0613 | 0.2113 | 1.2887 |
| IG-FWI | 0.0521 | 0.1057 | 0.0843 | 0.1181 | 0.1997 | 0.1883 | 0.0587 | 0.0762 | 0.5724 |
"""

_T5_MAE = """
| Method | BP-S | BP-L | BP-C | Salt-S | Salt-L | Salt-C | Over-S | Over-L | Over-C |
| ADFWI | 0.1987 | 0.3697 | 0.5690 | 0.6168 | 0.4024 | 0.5412 | 0.1710 | 0.3182 | 0.9107 |
| ADFWI-TV | 0.2006 | 0.3672 | 0.5685 | 0.5051 | 0.3071 | 0.4852 | 0.2653 | 0.3479 | 0.9184 |
| WECI-FWI | 0.2024 | 0.4064 | 0.5045 | 0.3791 | 0.6999 | 0.7845 | 0.2536 | 0.4314 | 1.0064 |
| MS-FWI | 0.1595 | 0.2717 | 0.5612 | 0.5007 | 0.3794 | 0.5705 | 0.1802 | 0.2118 | 0.8087 |
| IFWI | 0.1637 | 0.2230 | 0.2030 | 0.2129 | 0.3200 | 0.5210 | 0.2239 | 0.2028 | 0.4672 |
| WinFWI | 0.1883 | 0.3018 | 0.2061 | 0.2152 | 0.3284 | 0.3325 | 0.2392 | 0.1962 | 0.4564 |
| LR-FWI | 0.1322 | 0.2128 | 0.2295 | 0.3272 | 0.3011 | 0.2962 | 0.1671 | 0.1907 | 0.2793 |
| MPE-FWI | 0.2099 | 0.3918 | 0.6462 | 0.6667 | 0.3734 | 0.6513 | 0.1974 | 0.3392 | 0.8742 |
| IG-FWI | 0.1386 | 0.2085 | 0.1839 | 0.2118 | 0.3096 | 0.2700 | 0.1702 | 0.1870 | 0.4088 |
"""

_T7 = """
| Model | MPE-FWI | LR-FWI | LRG-FWI | IG-FWI |
| Marmousi | 2.2266 | 0.2893 | 0.1995 | 0.2961 |
| Overthrust | 1.2887 | 0.1592 | 0.1354 | 0.5724 |
| Salt body | 1.1008 | 0.2368 | 0.2179 | 0.1883 |
"""


def _parse(text: str) -> tuple[list[str], list[list[str]]]:
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in text.strip().splitlines()]
    return rows[0], rows[1:]


def _build() -> dict[tuple[str, str, str, str, str], PaperValue]:
    values: dict[tuple[str, str, str, str, str], PaperValue] = {}

    def put(table, dataset, column, method, metric, text, source):
        values[(table, dataset, column, method, metric)] = PaperValue(float(text), text, source)

    header, rows = _parse(_TABLE1)
    for row in rows:
        method = row[0]
        for (printed, dataset, column), text in zip(TABLE1_COLUMNS, row[1:12]):
            assert header[1 + TABLE1_COLUMNS.index((printed, dataset, column))] == printed
            put("1", dataset, column, method, "mse", text,
                f"Table 1, MSE ↓, column '{printed}', row '{method}'")
        for (key, printed), text in zip(COMPUTE_COLUMNS.items(), row[12:15]):
            put("1", "", "", method, key, text, f"Table 1, column '{printed}', row '{method}'")
    for metric, text in (("ssim", _T4_SSIM), ("mse", _T4_MSE), ("mae", _T4_MAE)):
        header, rows = _parse(text)
        assert header[1:] == [c.printed for c in TABLE4_COLUMNS]
        for row in rows:
            for column, cell in zip(TABLE4_COLUMNS, row[1:]):
                put("4", "marmousi", column.key, row[0], metric, cell,
                    f"Table 4 (Marmousi), {METRIC_LABELS[metric]}, column '{column.printed}', "
                    f"row '{row[0]}'")
    for metric, text in (("ssim", _T5_SSIM), ("mse", _T5_MSE), ("mae", _T5_MAE)):
        header, rows = _parse(text)
        order = [(ds, c) for ds in ("bp2004", "salt", "overthrust") for c in TABLE5_COLUMNS[ds]]
        assert header[1:] == [c.printed for _, c in order]
        label = "SSIM (printed ↓, a typo for ↑)" if metric == "ssim" else METRIC_LABELS[metric]
        for row in rows:
            for (dataset, column), cell in zip(order, row[1:]):
                put("5", dataset, column.key, row[0], metric, cell,
                    f"Table 5, {label}, column '{column.printed}', row '{row[0]}'")
    header, rows = _parse(_T7)
    names = {"Marmousi": "marmousi", "Overthrust": "overthrust", "Salt body": "salt"}
    for row in rows:
        for method, cell in zip(header[1:], row[1:]):
            put("7", names[row[0]], "constant", method, "mse", cell,
                f"Table 7, MSE ↓ (constant initial model), column '{method}', row '{row[0]}'")
    return values


_VALUES = _build()


def paper_name(method: str) -> str:
    """The paper's name of ``method`` (crfwi's name or the paper's, any letter case)."""
    key = str(method).strip().lower()
    for name, paper in METHOD_NAMES.items():
        if key in (name, paper.lower()):
            return paper
    raise ValueError(f"unknown method {method!r}; valid: "
                     + ", ".join(f"{n} ({p})" for n, p in METHOD_NAMES.items()))


def primary_table(dataset: str) -> str:
    """The table that prints all three metrics of ``dataset``: "4" (Marmousi) or "5"."""
    return "4" if dataset == "marmousi" else "5"


def lookup(dataset: str, column: str, method: str, metric: str, *,
           table: str | None = None) -> PaperValue | None:
    """The paper's value of ``metric`` (ssim, mse, mae) for ``method`` in ``column`` of
    ``dataset``, or None where the paper prints none.

    ``table`` None reads Table 4 (Marmousi) or Table 5 (the others), and Table 7 for what only
    it prints (LRG-FWI's constant-start MSE); ``"1"``, ``"4"``, ``"5"`` or ``"7"`` reads that
    table only (each keeps its own values, see :data:`INCONSISTENCIES`).
    """
    name = paper_name(method)
    if table is not None:
        return _VALUES.get((str(table), dataset, column, name, metric))
    value = _VALUES.get((primary_table(dataset), dataset, column, name, metric))
    if value is None:
        value = _VALUES.get(("7", dataset, column, name, metric))
    return value


def column_values(dataset: str, column: str, metric: str, *,
                  table: str | None = None) -> dict[str, PaperValue]:
    """Every method's value in one column: ``{paper method name: PaperValue}``, paper order."""
    out = {}
    for name in PAPER_METHODS:
        value = lookup(dataset, column, name, metric, table=table)
        if value is not None:
            out[name] = value
    return out


def best(dataset: str, column: str, metric: str, *, table: str | None = None,
         among: list[str] | None = None) -> list[str]:
    """The paper's best method(s) of a column (ties all returned), optionally only ``among``
    some methods (crfwi or paper names); [] where the paper prints nothing.

    ``table`` None = the column's own table (4 for Marmousi, 5 for the others), so Table 7's
    LRG-FWI, which that table does not list, does not take part."""
    values = column_values(dataset, column, metric, table=table or primary_table(dataset))
    if among is not None:
        keep = {paper_name(m) for m in among}
        values = {k: v for k, v in values.items() if k in keep}
    if not values:
        return []
    pick = max if HIGHER_IS_BETTER[metric] else min
    target = pick(v.value for v in values.values())
    return [k for k, v in values.items() if v.value == target]


def compute(method: str) -> dict[str, PaperValue]:
    """Table 1's compute columns of ``method``: ``{time_s_per_epoch, params_k, memory_gb}``
    (empty for a method Table 1 does not list)."""
    name = paper_name(method)
    return {key: _VALUES[("1", "", "", name, key)] for key in COMPUTE_COLUMNS
            if ("1", "", "", name, key) in _VALUES}


def table_rows() -> list[tuple[str, str, str, str, str, PaperValue]]:
    """Every transcribed value as ``(table, dataset, column, paper method, metric, value)``."""
    return [(*key, value) for key, value in _VALUES.items()]
