"""Physical and geometric tests on the bands: Fmask's spectral tests, cloud shadow by geometry."""
