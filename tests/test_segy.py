"""SEG-Y in and out (crfwi.field.segy), positions onto the grid (acquisition), `crfwi inspect`.

The input files are built with segyio directly, not with crfwi's writer, so the reader is
checked against the standard's conventions (other programs' files), not against itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import segyio

from crfwi.cli import main
from crfwi.field.acquisition import map_to_grid
from crfwi.field.segy import (FieldData, SegyError, load_traces, read_model_segy, read_segy,
                              scan_segy, write_data_segy, write_model_segy)
from crfwi.physics.geometry import Grid

T = segyio.TraceField
NT = 40


def _write(path, headers, data, *, fmt=1, binary_interval=2000):
    """A SEG-Y file written by segyio: one header dict and one trace per row of ``data``."""
    spec = segyio.spec()
    spec.samples, spec.tracecount, spec.format = np.arange(data.shape[1]) * 2.0, len(headers), fmt
    with segyio.create(str(path), spec) as f:
        f.bin.update({segyio.BinField.Interval: binary_interval})
        for i, (header, trace) in enumerate(zip(headers, data)):
            f.header[i] = {T.TRACE_SAMPLE_INTERVAL: 2000, T.TraceIdentificationCode: 1, **header}
            f.trace[i] = np.asarray(trace, np.float32)
    return path


def _stored(x, scalar):
    """What a file with this coordinate scalar holds for ``x`` metres."""
    return int(round(x * -scalar)) if scalar < 0 else int(round(x / scalar))


SOURCES = (1000.0, 1050.0, 1100.0)
COUNTS = (8, 9, 7)  # receivers per shot: a moving spread, not the same count in every shot


def _moving_spread(path, scalar=-100, fmt=1):
    """Three shots, receivers every 20 m from 80 m behind the source; FieldRecord left at 0 (so
    shots come from source positions); trace 3 flagged dead, trace 20 all zero."""
    headers, expected_rx = [], []
    for x, count in zip(SOURCES, COUNTS):
        for j in range(count):
            gx = x - 80 + 20 * j
            expected_rx.append(gx)
            headers.append({T.FieldRecord: 0, T.TraceNumber: j + 1, T.SourceGroupScalar: scalar,
                            T.SourceX: _stored(x, scalar), T.GroupX: _stored(gx, scalar),
                            T.SourceY: _stored(500, scalar), T.GroupY: _stored(500, scalar),
                            T.ElevationScalar: -10, T.SourceDepth: 55, T.ReceiverGroupElevation: -80,
                            T.SourceWaterDepth: 12000, T.offset: int(gx - x), T.DelayRecordingTime: 100})
    headers[3][T.TraceIdentificationCode] = 2
    data = np.arange(len(headers))[:, None] + 1 + 0.25 * np.arange(NT)  # exact in IBM float
    data[20] = 0.0
    return _write(path, headers, data, fmt=fmt), data, np.array(expected_rx)


@pytest.mark.parametrize("scalar", [-100, 10])
def test_moving_spread_read_with_scalars_and_masks(tmp_path, scalar):
    path, data, rx = _moving_spread(tmp_path / "line.sgy", scalar)
    field = read_segy(path)
    assert field.n_shots == 3 and list(field.receivers_per_shot) == list(COUNTS)
    assert field.source_inline == pytest.approx(SOURCES)
    assert field.receiver_inline == pytest.approx(rx)
    assert field.line.direction == pytest.approx((1.0, 0.0)) and field.line.max_scatter == 0
    assert field.source_depth == pytest.approx(5.5) and field.receiver_depth == pytest.approx(8.0)
    assert field.source_water_depth == pytest.approx(1200.0)
    assert (field.dt, field.nt, field.t0) == (pytest.approx(0.002), NT, pytest.approx(0.1))
    assert field.scalars["coordinate"] == {scalar: 24} and field.scalars["elevation"] == {-10: 24}
    np.testing.assert_array_equal(field.traces, data.astype(np.float32))
    assert list(np.flatnonzero(~field.live)) == [3, 20]
    assert field.flagged[3] and field.all_zero[20] and not field.non_finite.any()
    assert list(field.offset[:8]) == pytest.approx(list(range(-80, 80, 20)))
    shot = field.gather(2)  # one shot on its own
    assert shot.source_inline == 1100.0 and shot.traces.shape == (7, NT)
    assert shot.receiver_inline == pytest.approx(rx[17:])
    assert list(np.flatnonzero(~shot.live)) == [3]  # trace 20 of the file, all zero

    padded = field.padded()
    assert padded.data.shape == (3, 9, NT) and padded.mask.shape == (3, 9)
    assert padded.mask.sum() == 22 and not padded.mask[0, 3] and not padded.mask[0, 8]
    assert not padded.data[0, 3].any() and not padded.data[0, 8].any()  # dead and padding: zeros
    np.testing.assert_array_equal(padded.data[1, :9], data[8:17])
    assert padded.receiver_inline[2, 7:] == pytest.approx([1140.0, 1140.0])  # padding: last receiver


def test_diagonal_line_projected_onto_the_first_to_last_source_direction(tmp_path):
    origin, u, n = np.array([500000.0, 4000000.0]), np.array([0.6, 0.8]), np.array([-0.8, 0.6])
    headers = []
    for s in (200.0, 100.0, 0.0):  # shot from north-east to south-west: inline still grows with x
        for j, off in enumerate((-50.0, -25.0, 25.0, 50.0)):
            src, rec = origin + s * u, origin + (s + off) * u + (0.5 if j % 2 else -0.5) * n
            headers.append({T.FieldRecord: int(s), T.SourceGroupScalar: -100,
                            **{k: _stored(v, -100) for k, v in zip(
                                (T.SourceX, T.SourceY, T.GroupX, T.GroupY), (*src, *rec))}})
    field = read_segy(_write(tmp_path / "diagonal.sgy", headers, np.ones((12, NT))))
    assert field.line.direction == pytest.approx((0.6, 0.8), abs=1e-6)
    assert field.line.azimuth == pytest.approx(53.130, abs=1e-3)
    assert np.diff(field.source_inline) == pytest.approx([-100.0, -100.0], abs=0.02)
    assert field.offset == pytest.approx([-50, -25, 25, 50] * 3, abs=0.02)
    assert field.line.max_scatter == pytest.approx(0.5, abs=0.02)
    assert field.line.rms_scatter == pytest.approx(0.5 * np.sqrt(12 / 15), abs=0.02)  # sources on it


def test_field_record_splits_one_place_but_never_joins_two(tmp_path):
    xs, records = (0, 0, 100, 100, 100, 100), (1, 1, 1, 1, 2, 2)  # record 1 at two places
    headers = [{T.FieldRecord: r, T.SourceX: x, T.GroupX: 10 * i, T.SourceGroupScalar: 1}
               for i, (x, r) in enumerate(zip(xs, records))]
    path = _write(tmp_path / "records.sgy", headers, np.ones((6, NT)))
    assert list(scan_segy(path).receivers_per_shot) == [2, 2, 2]
    assert list(scan_segy(path, split_by_record=False).receivers_per_shot) == [2, 4]


def test_nan_traces_are_masked_or_refused(tmp_path):
    path, data, _ = _moving_spread(tmp_path / "ieee.sgy", fmt=5)
    with segyio.open(str(path), "r+", ignore_geometry=True) as f:
        f.trace[5] = np.full(NT, np.nan, np.float32)
    field = read_segy(path)
    assert field.non_finite[5] and not field.live[5] and not field.padded().data[0, 5].any()
    assert np.isfinite(field.padded().data).all()
    with pytest.raises(SegyError, match="1 traces hold NaN") as err:
        read_segy(path, refuse_nan=True)
    assert str(path) in str(err.value)
    headers_only = scan_segy(path)  # no samples read: masks from the trace ids only
    assert headers_only.traces is None and headers_only.all_zero is None
    assert list(np.flatnonzero(~headers_only.live)) == [3]
    assert load_traces(headers_only, [2]).n_traces == 7


def _one_line_error(path, **options) -> str:
    with pytest.raises(SegyError) as err:
        read_segy(path, **options)
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    return message


def test_malformed_files_are_refused_in_one_line_naming_the_file(tmp_path):
    good, _, _ = _moving_spread(tmp_path / "good.sgy")
    truncated = tmp_path / "truncated.sgy"
    truncated.write_bytes(good.read_bytes()[:-10])
    assert "truncated" in _one_line_error(truncated)
    (tmp_path / "empty.sgy").write_bytes(b"")
    assert "empty file" in _one_line_error(tmp_path / "empty.sgy")
    (tmp_path / "headers.sgy").write_bytes(good.read_bytes()[:3600])
    assert "no traces" in _one_line_error(tmp_path / "headers.sgy")

    zero = [{T.SourceX: 100, T.GroupX: 10 * i, T.SourceGroupScalar: 0} for i in range(3)]  # unset
    path = _write(tmp_path / "zero.sgy", zero, np.ones((3, NT)))
    assert "zero_scalar_as_one" in _one_line_error(path)
    assert read_segy(path, zero_scalar_as_one=True).receiver_inline == pytest.approx([0, 10, 20])

    mixed = [{T.SourceX: 100, T.GroupX: 10 * i, T.SourceGroupScalar: 1,
              T.TRACE_SAMPLE_INTERVAL: 2000 * (1 + i % 2)} for i in range(3)]
    path = _write(tmp_path / "intervals.sgy", mixed, np.ones((3, NT)))
    assert "mismatched sample intervals" in _one_line_error(path)

    binary = [{T.SourceX: 100, T.GroupX: 10 * i, T.SourceGroupScalar: 1} for i in range(3)]
    path = _write(tmp_path / "binary.sgy", binary, np.ones((3, NT)), binary_interval=4000)
    assert "sample_interval" in _one_line_error(path)
    assert read_segy(path, sample_interval=0.004).dt == 0.004
    with pytest.raises(FileNotFoundError):
        read_segy(tmp_path / "missing.sgy")


def test_model_round_trip_and_its_depth_convention(tmp_path):
    grid, origin = Grid(6, 9, 12.5, 7.5), (100.0, 250.5)
    model = np.random.default_rng(0).uniform(1500, 4500, grid.shape).astype(np.float32)
    path = write_model_segy(tmp_path / "model.sgy", model, grid, origin)
    back = read_model_segy(path)
    np.testing.assert_array_equal(back.model, model)
    assert (back.grid, back.origin) == (grid, origin)
    assert [p.name for p in tmp_path.iterdir()] == ["model.sgy"]  # no temporary left behind
    with segyio.open(str(path), ignore_geometry=True) as f:  # what other readers see
        assert f.tracecount == 9 and f.header[2][T.TRACE_SAMPLE_INTERVAL] == 12500  # dz in mm
        assert f.header[2][T.GroupX] / -f.header[2][T.SourceGroupScalar] == 250.5 + 2 * 7.5
        np.testing.assert_array_equal(f.trace[2], model[:, 2])


def test_data_round_trips_through_read_segy(tmp_path):
    field = read_segy(_moving_spread(tmp_path / "line.sgy", -100)[0])
    back = read_segy(write_data_segy(tmp_path / "copy.sgy", field))
    for name in ("source_inline", "source_depth", "receiver_inline", "receiver_depth",
                 "source_water_depth", "header_offset", "trace_id", "field_record", "channel"):
        np.testing.assert_allclose(getattr(back, name), getattr(field, name), err_msg=name)
    np.testing.assert_array_equal(back.traces, field.traces)
    np.testing.assert_array_equal(back.live, field.live)
    assert (back.dt, back.nt, back.t0) == (field.dt, field.nt, field.t0)

    predicted = field.with_traces(field.padded().data * 2)  # e.g. deepwave's output, padded
    again = read_segy(write_data_segy(tmp_path / "predicted.sgy", predicted))
    np.testing.assert_array_equal(again.traces[field.live], 2 * field.traces[field.live])

    arrays = FieldData.from_arrays(np.ones((2, 3, 10)), dt=0.004, source_inline=[12.5, 40.0],
                                   receiver_inline=[0.0, 25.0, 50.0], source_depth=10.0,
                                   receiver_depth=[[5.0, 5.0, 5.0], [6.0, 6.0, 6.0]])
    back = read_segy(write_data_segy(tmp_path / "arrays.sgy", arrays))
    assert back.source_inline == pytest.approx([12.5, 40.0]) and back.dt == 0.004
    assert back.receiver_depth == pytest.approx([5, 5, 5, 6, 6, 6])


def test_positions_onto_the_grid_with_the_mapping_error(tmp_path):
    field = read_segy(_moving_spread(tmp_path / "line.sgy")[0])
    on_grid = map_to_grid(field, Grid(10, 40, 10.0), origin=(0.0, 900.0))
    assert on_grid.source_cells.tolist() == [[1, 10], [1, 15], [1, 20]]  # 5.5 m deep -> row 1
    assert on_grid.source_error.max == pytest.approx(4.5)
    assert (on_grid.receiver_error.max, on_grid.receiver_error.rms) == pytest.approx((2.0, 2.0))
    cells, mask = on_grid.receiver_locations()
    assert tuple(cells.shape) == (3, 9, 2) and on_grid.source_locations().shape == (3, 1, 2)
    np.testing.assert_array_equal(mask.numpy(), field.padded().mask)

    rng = np.random.default_rng(1)  # anywhere inside: at most half a cell per axis
    scattered = FieldData.from_arrays(np.zeros((5, 20, 4)), dt=0.004,
                                      source_inline=rng.uniform(0, 300, 5),
                                      receiver_inline=rng.uniform(0, 300, (5, 20)),
                                      receiver_depth=rng.uniform(0, 50, (5, 20)))
    moved = map_to_grid(scattered, Grid(8, 20, 7.0, 16.0), origin=(0.0, 0.0)).receiver_error
    assert moved.rms <= moved.max <= np.hypot(7.0, 16.0) / 2

    with pytest.raises(ValueError, match=r"^2 of 24 receivers of .* lie outside the model") as err:
        map_to_grid(field, Grid(10, 23, 10.0), origin=(0.0, 900.0))  # 1130 and 1140 m > 1125 m
    assert "\n" not in str(err.value)


def test_cli_inspect(tmp_path, capsys):
    path, _, _ = _moving_spread(tmp_path / "line.sgy")
    assert main(["inspect", str(path), "--shot", "1", "--plot", str(tmp_path / "map.png")]) == 0
    out = capsys.readouterr().out
    for expected in ("shots       3 (field records 0), 24 traces, 7 to 9 per shot",
                     "samples     40 every 2 ms: record length 0.078 s, first sample at 0.1 s",
                     "receivers   inline 920 to 1140 m, depth 8 m",
                     "scalars     coordinate -100 (all traces); elevation -10 (all traces)",
                     "masked      2 of 24 traces: 1 dead (trace id), 1 all-zero, 0 NaN/inf",
                     "shot 1      record 0, source inline 1050 m"):
        assert expected in out
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    truncated = tmp_path / "cut.sgy"
    truncated.write_bytes(path.read_bytes()[:-100])
    assert main(["inspect", str(truncated)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crfwi: error: ") and str(truncated) in err and err.count("\n") == 1
    assert main(["inspect", str(path), "--shot", "3"]) == 2
    assert "out of range" in capsys.readouterr().err
