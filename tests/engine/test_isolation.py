import subprocess
import sys


def test_importing_engine_leaves_django_celery_and_plotly_out() -> None:
    code = (
        "import sys, engine, engine.market, engine.errors\n"
        "bad = [m for m in ('django', 'celery', 'plotly') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
