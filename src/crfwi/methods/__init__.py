"""What makes a method the paper's method, beside its representation (:mod:`crfwi.representations`).

- :mod:`.registry`: the methods by name (ADFWI, IFWI, IG-FWI, …): representation, misfit,
  regulariser and data bands, each selectable back to its literal form;
- :mod:`.misfits`: L2, envelope, global correlation and WECI's blend;
- :mod:`.regularizers`: total variation and ADFWI-TV's schedule.
"""
