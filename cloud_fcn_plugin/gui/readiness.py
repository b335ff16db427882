"""Whether a run can start on the chosen input, in the engine's own words.

The algorithm refuses an input that lacks a NIR band or holds 8-bit picture values
only once it runs; the panel asks the engine the same question beforehand (opening a
scene reads its headers and a small sample, a fraction of a second), so it can show
the sentence before Run and keep Run disabled.
"""

from __future__ import annotations

from ..common.engine_call import user_sentence
from ..common.layer_input import LayerInput
from ..engine.errors import CloudFcnError


def input_problem(
    info: LayerInput | None,
    bands: tuple[int, int, int, int] | None,
    product: str,
) -> str | None:
    """The sentence why the engine cannot read ``info`` with these bands, or ``None``.

    Args:
        info: what the panel found for the layer (``None``: no raster chosen).
        bands: (red, green, blue, NIR) band indices as the run would pass them.
        product: the product level code (``auto``, ``l1``, ``toa``, ``sr``).

    Only the engine's own refusals count: anything else is left for the run to report.
    """
    if info is None:
        return None
    try:
        from ..engine.scene.reader import open_scene

        with open_scene(info.path, bands=None if info.is_product else bands, product=product):
            pass
    except CloudFcnError as exc:
        return user_sentence(exc)
    except Exception:  # not the engine's refusal: the run will say
        return None
    return None
