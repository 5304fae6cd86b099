"""annotation_tool: the review web tool in which people make ParaImage-Small."""

from annotation_tool.settings import Settings

__all__ = ["Settings", "create_app"]


def create_app(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Lazy so ``paraimage --help`` does not import FastAPI."""
    from annotation_tool.app import create_app as _create_app

    return _create_app(*args, **kwargs)
