"""The HTTP response that serves an attached file, the same from the portal, the back office
and the API.

The file is always a download, never shown in the site's own origin: ``Content-Disposition:
attachment`` under a cleaned name, the type its first bytes showed (``nosniff`` so browsers
keep to it), a sandbox policy in case a browser renders it anyway, and no caching outside the
reader's own browser session.
"""

from __future__ import annotations

from urllib.parse import quote

from django.http import FileResponse

from .attachments import OpenedAttachment

__all__ = ["attachment_response", "content_disposition"]


def content_disposition(opened: OpenedAttachment) -> str:
    """``attachment`` with an ASCII name for old clients and the real one (RFC 6266)."""
    name = opened.attachment.name
    return f"attachment; filename=\"{opened.ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def attachment_response(opened: OpenedAttachment) -> FileResponse:
    response = FileResponse(opened.file, content_type=opened.attachment.content_type)
    response["Content-Disposition"] = content_disposition(opened)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
