"""paraimage: build long-caption image datasets (ParaImage-Big and ParaImage-Small)."""

__version__ = "0.1.0"
