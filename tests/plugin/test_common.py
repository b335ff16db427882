"""The parameter logic the dock and the algorithm share."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud_fcn_plugin import deps
from cloud_fcn_plugin.common.choices import DEFAULT_STACK_BANDS
from cloud_fcn_plugin.common.engine_call import (
    default_threshold,
    dependency_error,
    error_sentence,
    is_warning,
    qgis_wording,
)
from cloud_fcn_plugin.common.layer_input import (
    LayerInput,
    describe_input,
    engine_path,
    is_band_file,
    resolve_bands,
)
from cloud_fcn_plugin.engine.errors import BandMismatchError, DependencyMissingError


class TestLayerInput:
    @pytest.mark.parametrize(
        "name",
        ["LC08_L1TP_x_B4.TIF", "LC08_L2SP_x_SR_B5.TIF", "LC80130312015295LGN00_B10_toa.tif"],
    )
    def test_landsat_band_files(self, name):
        assert is_band_file(Path(name))

    @pytest.mark.parametrize("name", ["stack_B2-B5.tif", "LC08_x_QA_PIXEL.TIF", "mask.tif"])
    def test_other_rasters(self, name):
        assert not is_band_file(Path(name))

    def test_band_file_means_its_product_folder(self, toa_band_file):
        assert engine_path(toa_band_file) == (toa_band_file.parent, True)
        described = describe_input(toa_band_file)
        assert described.is_product and described.bands is None and described.level == "toa"

    def test_stack_named_like_a_band_file_is_read_as_the_stack(self, tmp_path):
        import numpy as np

        from tests.conftest import write_geotiff

        data = np.random.default_rng(0).integers(7000, 30000, (4, 40, 50), dtype=np.uint16)
        for band in (2, 3, 4, 5):
            write_geotiff(tmp_path / f"LC08_L1TP_x_B{band}.TIF", data[band - 2 : band - 1])
        stack = write_geotiff(tmp_path / "mystack_B4.tif", data[:, :30, :30], pixel=60.0)
        assert engine_path(stack) == (stack, False)
        assert not describe_input(stack).is_product
        band = tmp_path / "LC08_L1TP_x_B4.TIF"
        assert engine_path(band) == (tmp_path, True)

    def test_four_band_stack_gets_b2_b5_order(self, toa_stack):
        described = describe_input(toa_stack)
        assert not described.is_product
        assert described.bands == DEFAULT_STACK_BANDS

    def test_unset_bands_follow_the_layer_but_set_ones_do_not(self):
        guess = LayerInput(Path("x.tif"), False, (4, 3, 2, 5), "toa", "")
        assert resolve_bands((None,) * 4, guess) == (4, 3, 2, 5)
        assert resolve_bands((1, 2, 3, 4), guess) == (1, 2, 3, 4)
        # A user can force the stack order even where the descriptions say otherwise.
        assert resolve_bands(DEFAULT_STACK_BANDS, guess) == DEFAULT_STACK_BANDS
        assert resolve_bands((None, None, None, 6), guess) == (4, 3, 2, 6)
        unknown = LayerInput(Path("x.tif"), False, None, "toa", "")
        assert resolve_bands((None,) * 4, unknown) == DEFAULT_STACK_BANDS
        product = LayerInput(Path("folder"), True, None, "l1", "")
        assert resolve_bands((1, 2, 3, 4), product) is None

    def test_product_folder_lists_its_band_files(self, toa_band_file):
        described = describe_input(toa_band_file)
        assert [f.name for f in described.band_files] == [
            f"LC80130312015295LGN00_B{b}_toa.tif" for b in (4, 3, 2, 5)
        ]


class TestEngineCall:
    def test_missing_torch_is_the_shared_sentence(self):
        error = dependency_error(ModuleNotFoundError("No module named 'torch'", name="torch"))
        assert isinstance(error, DependencyMissingError)
        assert str(error) == deps.missing_torch_message()

    def test_other_missing_package_is_named(self):
        error = dependency_error(ModuleNotFoundError("nope", name="rasterio"))
        assert "rasterio" in str(error)

    def test_error_sentence_is_one_line(self):
        assert error_sentence(BandMismatchError("No NIR band.\ndetails")) == "No NIR band."
        assert error_sentence(RuntimeError("boom")).startswith("Cloud detection failed")

    def test_threshold_read_from_weights(self, tiny_weights):
        assert default_threshold(tiny_weights) == (0.5, None)

    def test_engine_warnings_are_recognised_and_worded_for_qgis(self):
        import numpy as np

        from cloud_fcn_plugin.engine.scene.scaling import infer_level, scaling_for

        _, reason = infer_level("uint16", np.full(10, 9000), ["scene.tif"])
        assert is_warning(reason)  # guessed from the values
        assert "choose another product level" in qgis_wording(reason)
        _, named = infer_level("float32", np.full(10, 0.2), ["scene_B2-B5_toa_120m.tif"])
        assert "from the file name" in named and not is_warning(named)  # a note (item 9)
        assert is_warning(scaling_for("l1").reason)  # no MTL: no sun-angle correction
        assert not is_warning("Bands (red, green, blue, NIR) = (3, 2, 1, 4).")
        assert qgis_wording("choose the 4-band model (--model rgbn).").endswith(
            "(Model: 4-band)."
        )

    def test_threshold_falls_back_and_says_so(self, tmp_path):
        value, note = default_threshold(tmp_path / "absent.safetensors")
        assert value == 0.5 and "absent.safetensors" in note
