"""The SLOs of a loaded config: inline ones plus those read from referenced OpenSLO and Sloth files.

References are paths or globs relative to the file that holds the `slos:` entry. Every
problem (an unreadable file, an invalid document, a name used twice) becomes a
`ConfigError` placed at the reference's line, so `tocsin validate` and reloads report it
like any other config error and a failed reload keeps the old SLOs running.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tocsin.config.errors import ConfigError, ConfigErrors, error_at
from tocsin.config.loader import LoadedConfig
from tocsin.slo.config import OpenSloRef, SloConfig, SloEntry, SlothRef
from tocsin.slo.importing import SpecError, read_documents
from tocsin.slo.model import Slo, compile_slo
from tocsin.slo.openslo import import_openslo
from tocsin.slo.sloth import VERSION, import_sloth


def is_openslo(documents: Sequence[Any]) -> bool:
    """Whether parsed documents look like OpenSLO (any `apiVersion: openslo/...`)."""
    return any(isinstance(d, dict) and str(d.get("apiVersion", "")).startswith("openslo/") for d in documents)


_CRD_KEYS = {
    "errorQuery": "error_query",
    "totalQuery": "total_query",
    "errorRatioQuery": "error_ratio_query",
    "pageAlert": "page_alert",
    "ticketAlert": "ticket_alert",
}


def _snake(node: Any) -> Any:
    """The CRD's camelCase keys in the prometheus/v1 spelling (labels and annotations kept as written)."""
    if isinstance(node, list):
        return [_snake(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {_CRD_KEYS.get(k, k): v if k in ("labels", "annotations") else _snake(v) for k, v in node.items()}


def sloth_spec(doc: Any) -> Any:
    """The prometheus/v1 spec of a Sloth document, including the Kubernetes PrometheusServiceLevel CRD."""
    if isinstance(doc, dict) and doc.get("kind") == "PrometheusServiceLevel" and isinstance(doc.get("spec"), dict):
        return {"version": VERSION, **_snake(doc["spec"])}
    return doc


def import_file(path: Path, *, url: str | None = None, window: Any = "30d", kind: str | None = None) -> list[SloConfig]:
    """Tocsin SLOs from one OpenSLO or Sloth file (`kind` forces `openslo` or `sloth`); SpecError on problems."""
    documents = read_documents(path)
    try:
        if kind == "openslo" or (kind is None and is_openslo(documents)):
            return import_openslo(documents, url=url)
        out: list[SloConfig] = []
        for index, doc in enumerate(documents):
            try:
                out.extend(import_sloth(sloth_spec(doc), url=url or "http://localhost:9090", window=window))
            except SpecError as exc:
                raise SpecError(exc.field, exc.message, document=index if len(documents) > 1 else None) from exc
        return out
    except SpecError as exc:
        raise exc.located(str(path)) from exc


def expand(entry: OpenSloRef | SlothRef, base: Path) -> list[Path]:
    """The files a reference names, sorted; a pattern matching nothing is an error."""
    pattern = entry.openslo if isinstance(entry, OpenSloRef) else entry.sloth
    full = pattern if Path(pattern).is_absolute() else str(base / pattern)
    found = sorted(Path(p) for p in glob.glob(full, recursive=True))
    if not found:
        raise SpecError("", f"no file matches {pattern!r}")
    return found


def entry_configs(entry: SloEntry, base: Path) -> list[SloConfig]:
    """The SLOs one `slos:` entry stands for."""
    if isinstance(entry, SloConfig):
        return [entry]
    if isinstance(entry, OpenSloRef):
        return [c for f in expand(entry, base) for c in import_file(f, url=entry.url, kind="openslo")]
    return [c for f in expand(entry, base) for c in import_file(f, url=entry.url, window=entry.window, kind="sloth")]


def load_slos(loaded: LoadedConfig) -> list[Slo]:
    """Every SLO of a loaded config, compiled; ConfigErrors lists every problem with its file and line."""
    entries: Sequence[SloEntry] = getattr(loaded.config, "slos", [])
    errors: list[ConfigError] = []
    found: dict[str, str] = {}
    out: list[Slo] = []
    for index, entry in enumerate(entries):
        location = loaded.location_of(("slos", index))
        base = location.file.parent if location else Path.cwd()
        key = "slos" if isinstance(entry, SloConfig) else f"slos[{index}].{_ref_key(entry)}"
        try:
            configs = entry_configs(entry, base)
        except SpecError as exc:
            errors.append(error_at(location, key, exc.format()))
            continue
        for cfg in configs:
            if cfg.name in found:
                errors.append(error_at(location, key, f"SLO name {cfg.name!r} is already used ({found[cfg.name]})"))
                continue
            found[cfg.name] = str(location) if location else f"slos[{index}]"
            out.append(compile_slo(cfg))
    if errors:
        raise ConfigErrors(*errors)
    return out


def _ref_key(entry: OpenSloRef | SlothRef) -> str:
    return "openslo" if isinstance(entry, OpenSloRef) else "sloth"
