"""Everything a run writes: the mask, refinement, masked image, polygons, preview, QA comparison."""
