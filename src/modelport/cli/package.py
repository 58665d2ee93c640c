"""``modelport model package``: a model (or a deployed service) as a container build context/image.

The workspace server assembles the context; this command downloads it (``--output-path``),
builds it with podman, buildah or docker (``--build``) and writes an IoT Edge deployment manifest
for the image (``--iot-manifest``). Progress goes to stderr; the package record to stdout.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelport.cli._deploy_inputs import (
    DeployConfigOption,
    EntryScriptOption,
    EnvNameOption,
    EnvVersionOption,
    InferenceOption,
    MetadataOption,
    ModelsOption,
    SourceDirOption,
    config_warnings,
    environment_ref,
    inference_spec,
    model_list,
)
from modelport.cli._options import CommonOptions, common_options
from modelport.cli._output import render
from modelport.errors import UserError

if TYPE_CHECKING:
    from rich.console import Console  # imported when the command runs (model list need not)

    from modelport.sdk.package import ModelPackage

EXAMPLE = """Examples:

    modelport model package -m digits:1 --ic inferenceconfig.json --output-path ./digits-pkg
    modelport model package -m digits:1 --image-name digits --image-label v1 --build
    modelport model package --service digits-svc --build --base-image python:3.11-slim
    modelport model package -m digits:1 --build --iot-manifest --dc iotconfig.json

Without --ic and with one scikit-learn or ONNX model: a no-code package. The image listens on
5001 (docker run -p 6789:5001 IMAGE, then POST http://localhost:6789/score)."""


def package(
    opts: CommonOptions,
    models: ModelsOption = None,
    metadata_files: MetadataOption = None,
    inference_config: InferenceOption = None,
    entry_script: EntryScriptOption = None,
    source_directory: SourceDirOption = None,
    environment_name: EnvNameOption = None,
    environment_version: EnvVersionOption = None,
    service: Annotated[
        str | None,
        typer.Option(
            "--service",
            help="Package this deployed service (its serving revision and lock) instead of -m.",
            show_default=False,
        ),
    ] = None,
    output_path: Annotated[
        Path | None,
        typer.Option(
            "--output-path",
            help="Save the build context (Dockerfile, app/, lock) into this new or empty folder.",
            show_default=False,
        ),
    ] = None,
    image_name: Annotated[
        str | None,
        typer.Option("--image-name", help="Image name (default: the model's).", show_default=False),
    ] = None,
    image_label: Annotated[
        str | None,
        typer.Option("--image-label", help="Image tag (default: latest).", show_default=False),
    ] = None,
    build: Annotated[
        bool,
        typer.Option("--build", help="Build the image here with podman, buildah or docker."),
    ] = False,
    base_image: Annotated[
        str | None,
        typer.Option(
            "--base-image",
            help="Base image with the package's Python (default: python:X.Y-slim-bookworm, or "
            "the inference config's baseImage).",
            show_default=False,
        ),
    ] = None,
    builder: Annotated[
        str | None,
        typer.Option(
            "--builder",
            help="podman, buildah or docker (default: the first found).",
            show_default=False,
        ),
    ] = None,
    wheels: Annotated[
        bool,
        typer.Option(
            "--wheels/--no-wheels",
            help="Fetch the lock's wheels on this host so the build needs no network "
            "(--no-wheels: the build installs from the package index).",
        ),
    ] = True,
    iot_manifest: Annotated[
        bool,
        typer.Option(
            "--iot-manifest",
            help="Write an Azure IoT Edge deployment manifest for the image (needs --dc with "
            'computeType "IOT"); into --output-path, else to stdout.',
        ),
    ] = False,
    deploy_config: DeployConfigOption = None,
) -> None:
    """Package models (or a deployed service) as a container image build context.

    The context holds the models laid out as in a service (azureml-models/NAME/VERSION), the
    source snapshot, the environment's uv lock and a Dockerfile that runs the inference server
    on port 5001 as a non-root user.
    """
    from rich.console import Console
    from rich.text import Text

    from modelport.packaging import iot
    from modelport.sdk.package import package as sdk_package

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if build:
        from modelport.packaging.build import find_builder

        find_builder(builder)  # no builder installed: say so before the server does any work
    iot_config = _iot_config(deploy_config) if iot_manifest else None
    if deploy_config is not None and not iot_manifest:
        raise UserError("--dc is only used with --iot-manifest (an IoT Edge deployment config).")
    refs, ws_name = model_list(models, metadata_files)
    if service is not None and (refs or inference_config or entry_script or source_directory):
        raise UserError("Give either --service or -m/--ic, not both.")
    if service is None and not refs:
        raise UserError("Name the models to package with -m NAME:VERSION (or --service NAME).")
    if output_path is not None and output_path.exists() and any(output_path.iterdir()):
        raise UserError(f"--output-path {output_path} is not empty; give a new or empty folder.")
    with config_warnings():
        spec = inference_spec(inference_config, entry_script, source_directory)
    ws = opts.workspace(ws_name)
    pkg = sdk_package(
        ws, refs, spec, generate_dockerfile=True, image_name=image_name,
        image_label=image_label, environment=environment_ref(environment_name, environment_version),
        base_image=base_image, service=service,
    )  # fmt: skip
    with _status(console, f"Packaging {', '.join(pkg.models) or service} (package {pkg.id}) …"):
        pkg._wait_context()
    console.print(Text(f"Build context ready: package {pkg.id}", style="bold green"))
    result: dict[str, Any] = pkg.serialize()
    if output_path is not None:
        result["contextPath"] = str(pkg.save(output_path))
        console.print(f"Saved to {result['contextPath']}")
    if build:
        with tempfile.TemporaryDirectory(prefix="modelport-package-") as tmp:
            context_dir = Path(result.get("contextPath") or Path(tmp) / "context")
            if "contextPath" not in result:
                pkg.save(context_dir)
            result["image"] = _build(console, pkg, context_dir, base_image, builder, wheels)
    if iot_config is not None:
        image = result.get("image") or pkg.image_reference()
        doc = iot.manifest(iot_config, image)
        if output_path is not None:
            path = output_path / "deployment.iotedge.json"
            path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
            result["iotManifest"] = str(path)
            console.print(f"IoT Edge manifest: {path}. {iot.apply_hint(iot_config, str(path))}")
        else:
            result["iotManifest"] = doc
        if image.startswith("localhost/"):
            console.print(
                Text("Warning: ", style="yellow")
                + Text(
                    f"{image} is on no registry; an IoT Edge device must pull it: push it and "
                    "set MODELPORT_REGISTRY (or --image-name REGISTRY/NAME)."
                )
            )
    render(result, opts)


def _iot_config(path: Path | None) -> Any:
    from modelport.packaging import iot
    from modelport.specs.files import read_config_file

    if path is None:
        raise UserError(
            '--iot-manifest needs --dc FILE: a deployment config with computeType "IOT".'
        )
    return iot.parse_iot_config(read_config_file(path), str(path))


def _status(console: Console, message: str) -> Any:
    """A spinner on a terminal, one line elsewhere."""
    if console.is_terminal:
        return console.status(message)
    console.print(message)
    import contextlib

    return contextlib.nullcontext()


def _build(
    console: Console, pkg: ModelPackage, context_dir: Path, base_image: str | None, builder: str | None,
    wheels: bool,
) -> str:  # fmt: skip
    from rich.text import Text

    from modelport.packaging.build import build_image, find_builder

    tool = find_builder(builder)  # says clearly when none is installed, before any download
    tag = pkg.image_reference()

    def log(line: str) -> None:
        console.print(Text("  " + line, style="dim"))

    with _status(console, f"Building {tag} with {tool} …"):
        build_image(context_dir, tag, base_image=base_image, builder=tool, fetch_wheels=wheels, log=log)  # fmt: skip
    console.print(Text(f"Built {tag}. Run it: {tool} run -p 6789:5001 {tag}", style="bold green"))
    return tag


package.__doc__ = f"{package.__doc__}\n\n{EXAMPLE}"


def register(app: typer.Typer) -> None:
    """Add ``package`` to the ``model`` group."""
    app.command("package", help=package.__doc__, no_args_is_help=True)(common_options(package))
