"""The three pages and the widget script, served from api/static (no CDN, no external fonts)."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)


def _page(name: str, media_type: str = "text/html; charset=utf-8") -> FileResponse:
    return FileResponse(STATIC / name, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get("/")
def demo_host_page():
    return _page("index.html")


@router.get("/widget.js")
def widget_script():
    return _page("widget.js", "application/javascript; charset=utf-8")


@router.get("/hotline")
def hotline_page():
    return _page("hotline.html")


@router.get("/admin")
def admin_page():
    return _page("admin.html")


@router.get("/admin/catalog")
def catalog_review_page():
    return _page("catalog-review.html")


@router.get("/admin/tickets")
def tickets_page():
    return _page("tickets.html")
