"""The plugin's translations: one ``QTranslator`` chosen by QGIS's locale.

Strings outside widget classes go through :func:`tr`, whose context is the one
``pylupdate5`` gives a plain ``tr("...")`` call (``@default``); widgets use their own
``self.tr``. Labels kept in tables are marked with :func:`QT_TRANSLATE_NOOP` so that
``make i18n`` finds them, and translated where they are shown. The ``.ts`` sources
live in ``i18n/`` beside this module; ``make i18n`` updates them and compiles the
``.qm`` files QGIS loads.
"""

from __future__ import annotations

from pathlib import Path

#: The context pylupdate5 gives ``tr("...")`` outside a ``self.tr`` call.
CONTEXT = "@default"
I18N_DIR = Path(__file__).resolve().parent / "i18n"
PREFIX = "cloud_fcn_"


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Mark ``text`` for ``make i18n`` without translating it yet."""
    return text


def tr(text: str) -> str:
    """Translate ``text`` with the plugin's translator (unchanged when there is none)."""
    from qgis.PyQt.QtCore import QCoreApplication

    return QCoreApplication.translate(CONTEXT, text)


def user_locale() -> str:
    """The language QGIS runs in (``locale/userLocale``, e.g. ``fr`` or ``de_CH``)."""
    from qgis.core import QgsSettings
    from qgis.PyQt.QtCore import QLocale

    value = QgsSettings().value("locale/userLocale", "") or QLocale().name()
    return str(value)


def translation_file(locale: str) -> Path | None:
    """The compiled translation for ``locale`` (``fr_FR`` falls back to ``fr``), if any."""
    for name in (locale, locale.split("_")[0]):
        candidate = I18N_DIR / f"{PREFIX}{name}.qm"
        if name and candidate.is_file():
            return candidate
    return None


class PluginTranslator:
    """Installs the plugin's ``QTranslator`` for QGIS's locale and removes it again."""

    def __init__(self) -> None:
        self.translator = None

    def install(self, locale: str | None = None) -> Path | None:
        """Load and install the translation for ``locale`` (default: QGIS's); return its file."""
        from qgis.PyQt.QtCore import QCoreApplication, QTranslator

        self.remove()
        path = translation_file(locale or user_locale())
        if path is None:
            return None
        translator = QTranslator()
        if not translator.load(str(path)):
            return None
        QCoreApplication.installTranslator(translator)
        self.translator = translator
        return path

    def remove(self) -> None:
        """Uninstall the translator, if one is installed."""
        from qgis.PyQt.QtCore import QCoreApplication

        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None
