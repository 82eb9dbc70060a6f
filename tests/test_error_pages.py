"""The server-error pages share one base (50x.html) and render without a request or a database."""

from __future__ import annotations

from django.template.loader import render_to_string


def test_the_500_and_503_pages_render_without_a_request_from_one_base() -> None:
    server_error = render_to_string("500.html")
    outage = render_to_string("503.html", {"message": "数据库正在重启，请 5 秒后再试。"})
    for html, code in ((server_error, "500"), (outage, "503")):
        assert f'<p class="error-code" aria-hidden="true">{code}</p>' in html
        assert 'href="tel:12345"' in html and "返回首页" in html
        assert html.count('class="site-header"') == 1
    assert "系统暂时出了问题" in server_error and "系统正在恢复" not in server_error
    assert "数据库正在重启，请 5 秒后再试。" in outage and "系统正在恢复" in outage
