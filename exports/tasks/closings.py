"""(filled by the closings part)"""

__all__ = []
