"""Analysis layer: runs become numbers and figures (intervals, comparisons, the record, validation)."""
