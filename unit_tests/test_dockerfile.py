"""The image as platforms expect it, read from the Dockerfile and metadata.yaml (no Docker engine runs here): an
unprivileged user who owns /airbyte and /local, the entrypoint by absolute path (also in AIRBYTE_ENTRYPOINT),
and labels that name the repository and version metadata.yaml gives."""
import json
import os
import re
import shlex

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def instructions() -> list[tuple[str, str]]:
    with open(os.path.join(ROOT, "Dockerfile")) as f:
        text = re.sub(r"\\\n", " ", f.read())  # continued lines joined
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip()) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def metadata() -> dict[str, str]:
    found = {}
    with open(os.path.join(ROOT, "metadata.yaml")) as f:
        for line in f:
            match = re.match(r"\s+(dockerRepository|dockerImageTag):\s*(\S+)", line)
            if match:
                found[match.group(1)] = match.group(2)
    return found


def test_the_image_runs_as_an_unprivileged_user_who_owns_its_folders():
    steps = instructions()
    users = [value for kind, value in steps if kind == "USER"]
    assert users and users[-1] not in ("root", "0") and not users[-1].startswith(("root:", "0:")), users
    last_user = max(i for i, (kind, _) in enumerate(steps) if kind == "USER")
    runs = " && ".join(value for kind, value in steps[:last_user] if kind == "RUN")
    assert re.search(rf"useradd\b[^&]*\b{re.escape(users[-1])}\b", runs), runs
    assert re.search(rf"chown -R {re.escape(users[-1])}(:\S+)? /airbyte /local", runs), runs
    assert all(kind != "RUN" for kind, _ in steps[last_user:]), "nothing runs as root after USER"


def test_the_entrypoint_is_an_absolute_path_and_the_labels_match_the_metadata():
    steps = dict(instructions())  # (the last of each kind)
    entrypoint = json.loads(steps["ENTRYPOINT"])  # the exec form: a JSON array of strings
    assert isinstance(entrypoint, list) and os.path.isabs(entrypoint[0]), entrypoint
    env = dict(pair.split("=", 1) for pair in shlex.split(steps["ENV"]))
    assert env["AIRBYTE_ENTRYPOINT"] == " ".join(entrypoint)
    labels = dict(pair.split("=", 1) for kind, value in instructions() if kind == "LABEL" for pair in shlex.split(value))
    meta = metadata()
    assert labels["io.airbyte.name"] == meta["dockerRepository"]
    assert labels["io.airbyte.version"] == meta["dockerImageTag"]
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        assert f'version = "{meta["dockerImageTag"]}"' in f.read()
