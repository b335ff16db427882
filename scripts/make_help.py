"""Write the Help button's page, ``resources/help/index.html``, from the algorithm's help.

The page and the dialog's help come from one source,
``cloud_fcn_plugin/processing/help_text.py``; edit that and run ``make help``.

Usage: ``python scripts/make_help.py [--check]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGE = REPO_ROOT / "resources" / "help" / "index.html"


def main(argv: list[str] | None = None) -> int:
    """Write the page, or with ``--check`` say whether the shipped one is up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    from cloud_fcn_plugin.processing.help_text import help_page

    page = help_page()
    if args.check:
        if PAGE.read_text(encoding="utf-8") != page:
            print(f"{PAGE} is out of date: run `make help`.", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
