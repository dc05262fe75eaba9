"""Runs inside the Helm peer's own venv (helm-python-sdk): load a chart, render it, write the manifests.

    <helm venv>/bin/python helm_render.py CHART OUT --repeat R
    → one JSON line: {"times": [load + render + write, …], "render_times": [render only, …],
       "cpu_times": [process CPU of each run], "objects": N}

Each run loads the chart from disk (Helm's chart loader), renders every template with Helm's engine
(`helm template` without a cluster) and writes the rendered manifests to OUT, like `helm template
--output-dir`. Only the standard library and helm_python are imported here.
"""

import json
import sys
import time
from pathlib import Path

import helm_python as helm


def main() -> None:
    chart_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
    times, render_times, cpu_times, objects = [], [], [], 0
    for _ in range(repeat):
        c0 = time.process_time()  # the whole process: every Go thread too
        t0 = time.perf_counter()
        chart = helm.Chart.load(chart_dir)
        t1 = time.perf_counter()
        manifests = chart.render(name="bench", namespace="models", is_install=True)
        render_times.append(time.perf_counter() - t1)
        objects = 0
        for name, text in manifests.items():
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            objects += text.count("\nkind: ")
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    print(
        json.dumps(
            {
                "times": times,
                "render_times": render_times,
                "cpu_times": cpu_times,
                "objects": objects,
                "helm": helm.helm_sdk_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
