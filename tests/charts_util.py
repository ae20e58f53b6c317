"""Synthetic results documents and readers of report.html's charts (Vega SVG) for the tests.

A chart is read back as XML (so it must be well formed) and through what Vega writes for
accessibility: every mark carries ``aria-roledescription`` (its kind: ``bar-throughput``,
``whisker``, ``roof``, ``cell`` …) and ``aria-label`` (the description the report gives it,
also its ``<title>`` tooltip)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
_NUM = r"-?[0-9.]+(?:e-?[0-9]+)?"


def synthetic_doc(
    variants: list[str],
    cells: tuple[str, ...] = ("CPU:LATENCY", "CPU:THROUGHPUT"),
    skipped: tuple[tuple[str, str], ...] = (),
    evaluate: bool = True,
) -> dict:
    """A results document shaped like results.json, with made-up but plausible figures."""
    benchmarks = []
    for k, variant in enumerate(variants):
        for cell in cells:
            device, hint = cell.split(":")[:2]
            row = {"task": f"bench:{variant}:{cell}", "variant": variant, "cell": cell}
            row |= {"device": device, "hint": hint}
            if (variant, cell) in skipped:
                benchmarks.append(row | {"status": "skipped", "reason": "device not available"})
                continue
            tput = 100.0 + 37.5 * k + (60.0 if hint == "THROUGHPUT" else 0.0)
            lat = 1000.0 / tput
            repeats = [
                {"throughput": tput * f, "latency_ms": {"median": lat / f}}
                for f in (0.97, 1.0, 1.02)
            ]
            row |= {
                "status": "ok",
                "throughput": tput,
                "latency_ms": {"median": lat, "p90": lat * 1.1, "p99": lat * 1.2},
                "repeats": repeats,
                "spread": {"throughput": {"relative": 0.05}},
                "size_bytes": int(90e6 / (k + 1)),
            }
            benchmarks.append(row)
    return {
        "schema": "ovrun.results/2",
        "recipe": "synthetic",
        "reference": variants[0] if variants else None,
        "metric": "cosine",
        "variants": {
            v: {"compression": None if k == 0 else {"op": "quantize"}}
            for k, v in enumerate(variants)
        },
        "evaluations": {
            v: {"value": 1.0 - 0.004 * k + 0.0001 * k * k, "accuracy_drop": 0.004 * k}
            for k, v in enumerate(variants)
            if k and evaluate
        },
        "benchmarks": benchmarks,
        "host": {"host": {"cpu_model": "Test CPU", "cpu_flags_relevant": ["avx512_vnni"]}},
        "run": {"started": 1_700_000_000},
    }


def add_roofline(doc: dict, bandwidth: float = 20.0) -> dict:
    """The roofline fields on every ok row, as the benchmark writes them: FLOPs and bytes
    per inference (a quantized variant reads a quarter of the bytes), the f32 peak for the
    reference and the int8 peak for the others."""
    for row in doc["benchmarks"]:
        if row["status"] != "ok":
            continue
        quantized = row["variant"] != doc["reference"]
        flops, nbytes = 2.2e9, 9e7 / (4 if quantized else 1)
        gflops = flops * row["throughput"] / 1e9
        peak = 2400.0 if quantized else 800.0
        intensity = flops / nbytes
        row |= {
            "gflops": gflops,
            "peak_gflops": peak,
            "peak_share": gflops / peak,
            "bound": "memory" if intensity < peak / bandwidth else "compute",
            "flops_per_inference": flops,
            "bytes_per_inference": nbytes,
            "intensity": intensity,
            "bandwidth_gbps": bandwidth,
        }
    return doc


def charts(page: str) -> dict[str, ET.Element]:
    """Each <figure class="chart" id=...>'s SVG, parsed as XML."""
    found = re.findall(r'<figure class="chart" id="([^"]+)">(<svg.*?</svg>)', page, re.S)
    return {name: ET.fromstring(text) for name, text in found}


def marks(svg: ET.Element, role: str) -> list[ET.Element]:
    """The chart's marks of one kind (``aria-roledescription``), in drawing order."""
    return [e for e in svg.iter() if e.get("aria-roledescription") == role]


def texts(svg: ET.Element) -> list[str]:
    """The visible strings of the <text> elements (tooltips left out)."""
    out = []
    for t in svg.iter(f"{SVG}text"):
        parts = [t.text or ""]
        for child in t:
            parts += [child.text or "" if child.tag == f"{SVG}tspan" else "", child.tail or ""]
        out.append("".join(parts))
    return out


def titles(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}title")]


def rect_of(path: ET.Element) -> tuple[float, float, float, float]:
    """x, y, width, height of a bar (Vega draws it as a path 'Mx,yhWvHh-WZ')."""
    m = re.fullmatch(rf"M({_NUM}),({_NUM})h({_NUM})v({_NUM})h{_NUM}Z", path.get("d"))
    assert m, path.get("d")
    return tuple(float(v) for v in m.groups())


def vertices(path: ET.Element) -> list[tuple[float, float]]:
    """The points of a line mark's path ('Mx,yLx,y…')."""
    return [(float(x), float(y)) for x, y in re.findall(rf"[ML]({_NUM}),({_NUM})", path.get("d"))]


def position(mark: ET.Element) -> tuple[float, float]:
    """Where a point or text mark sits (Vega places it with translate(x,y))."""
    m = re.search(rf"translate\(({_NUM}),({_NUM})\)", mark.get("transform") or "")
    assert m, mark.attrib
    return float(m.group(1)), float(m.group(2))
