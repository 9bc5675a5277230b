from odoo.addons.resource.models.utils import Intervals


class WorkIntervals(Intervals):
    """Intervals whose touching members stay apart (one per attendance);
    overlapping ones are merged."""

    def __init__(self, intervals=()):
        super().__init__()
        for start, stop, recs in sorted(intervals, key=lambda i: (i[0], i[1])):
            if self._items and start < self._items[-1][1]:
                first, last, before = self._items[-1]
                self._items[-1] = (first, max(last, stop), before | recs)
            else:
                self._items.append((start, stop, recs))
