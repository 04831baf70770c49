"""``atlas model add|list|layers``: registering a model with its input (shape, the
preprocessing that is part of it) and chosen layers, and listing what a model offers
before choosing. Option strings are checked here, one line each, before torch loads."""

from __future__ import annotations

import argparse

from atlas.cli.common import add_command, open_catalog
from atlas.errors import InvalidInput
from atlas.text import printable

ARCH_HELP = ("inceptionv1, demo, demo-b, or package.module:factory from a module allowed by "
             "ATLAS_ALLOWED_FACTORY_MODULES")
WEIGHTS_HELP = ("state_dict (.pt, loaded with weights_only) or .safetensors; TorchScript archives are refused "
                "(they run code when loaded)")


def _input_options(parser: argparse.ArgumentParser) -> None:
    """--input-shape, the preprocessing options and --layers (shared by add and layers)."""
    parser.add_argument("--input-shape", metavar="C,H,W",
                        help="the image shape the model takes, e.g. 3,224,224 (default: the architecture's; "
                             "3,224,224 for a factory). RGB and square: the atlas feeds square RGB images")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--preprocess", choices=("imagenet",),
                     help="imagenet: (x - mean) / std with ImageNet's mean 0.485,0.456,0.406 and std "
                          "0.229,0.224,0.225, on images in [0, 1]")
    how.add_argument("--mean", metavar="M1,M2,M3", help="with --std: (x - mean) / std per channel on [0, 1] images")
    how.add_argument("--scale", metavar="A,B", help="map [0, 1] linearly onto [A, B], e.g. --scale=-1,1 or "
                     "--scale 0,255 (a value starting with '-' needs the '=' form)")
    parser.add_argument("--std", metavar="S1,S2,S3", help="with --mean: the per-channel std (positive)")
    parser.add_argument("--layers", nargs="+", action="extend", metavar="PATTERN",
                        help="the modules that become layers: globs over module paths (e.g. 'features.*.conv.2' "
                             "'layer*.*.relu'); any module that outputs a tensor with channels. Default: every "
                             "conv, linear and concatenation module (`atlas model layers` lists them all)")


def _preprocess(args: argparse.Namespace) -> dict | None:
    from atlas.compute.input_spec import named, normalize, parse_numbers, scale

    if (args.mean is None) != (args.std is None):
        raise InvalidInput("--mean and --std go together (three numbers each)")
    if args.preprocess:
        return named(args.preprocess)
    if args.mean is not None:
        return normalize(parse_numbers(args.mean, "--mean", 3), parse_numbers(args.std, "--std", 3))
    if args.scale is not None:
        return scale(*parse_numbers(args.scale, "--scale", 2))
    return None


def _shape(args: argparse.Namespace) -> tuple[int, int, int] | None:
    from atlas.compute.input_spec import parse_shape

    return parse_shape(args.input_shape) if args.input_shape is not None else None


def _layer_patterns(args: argparse.Namespace) -> list[str] | None:
    from atlas.compute.input_spec import check_layer_patterns

    return check_layer_patterns(args.layers) if args.layers is not None else None


def _input_line(shape: tuple[int, ...], preprocess: dict | None) -> str:
    from atlas.compute.input_spec import describe_preprocess

    return f"input {'x'.join(map(str, shape))}, preprocessing {describe_preprocess(preprocess)}"


def cmd_model_add(args: argparse.Namespace) -> None:
    from atlas.compute.registration import register_model  # torch: imported only by commands that compute

    shape, preprocess, patterns = _shape(args), _preprocess(args), _layer_patterns(args)
    catalog = open_catalog(args)
    registered = register_model(catalog, args.name, args.arch, args.weights, input_shape=shape,
                                preprocess=preprocess, layers=patterns)
    spec = registered.input_spec or {}
    layers = catalog.layers(args.name)
    print(f"registered {args.name} ({args.arch}) with {len(layers)} layers, "
          f"{_input_line(spec.get('shape', ()), spec.get('preprocess'))}:")
    for layer in layers:
        shown = "x".join(map(str, layer.spatial_shape)) if layer.spatial_shape else "-"
        print(f"  {layer.name:<24} {layer.kind:<10} {layer.channels:>5} channels  {shown}")


def cmd_model_list(args: argparse.Namespace) -> None:
    catalog = open_catalog(args)
    for model in catalog.models():
        layers = catalog.layers(model.name)
        print(f"{model.name:<16} {model.architecture:<16} {len(layers)} layers, "
              f"{sum(l.channels for l in layers)} units")


def cmd_model_layers(args: argparse.Namespace) -> None:
    from atlas.compute.registration import offered_layers, registered_offer

    chosen_by = "--layers" if args.layers else "default"
    if args.name is not None:
        given = [f"--{o.replace('_', '-')}" for o in ("arch", "weights", "input_shape", "preprocess", "mean", "std",
                                                      "scale", "layers") if getattr(args, o) is not None]
        if given:
            raise InvalidInput(f"{', '.join(given)} describe a model to register; a registered model "
                               f"({args.name}) is listed with what it was registered with")
        offer, chosen_by = registered_offer(open_catalog(args), args.name), "registered"
        title = args.name
    elif args.arch is None:
        raise InvalidInput("name a registered model, or describe one with --arch (and --weights, --input-shape)")
    else:
        offer = offered_layers(args.arch, args.weights, _shape(args), _preprocess(args), _layer_patterns(args))
        title = args.arch
    print(f"{printable(title)}: {_input_line(offer.shape, offer.preprocess)}; "
          f"{len(offer.outputs)} modules run, {len(offer.layers)} are layers ({chosen_by})")
    layers = set(offer.layers)
    rows = [("module", "type", "kind", "output", "channels", "layer")]
    for out in offer.outputs:
        shown = "x".join(map(str, out.shape)) if out.shape else (out.output if out.shape is None else "scalar")
        note = "layer" if out.name in layers else ""
        if out.calls > 1:
            note = f"{note} (runs {out.calls}x)".strip()
        rows.append((out.name, out.type, out.kind, shown, str(out.channels) if out.shape else "-", note))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def register(sub: argparse._SubParsersAction) -> None:
    model = sub.add_parser("model", help="models in the catalogue", description="models in the catalogue")
    model_sub = model.add_subparsers(dest="model_command", metavar="COMMAND", required=True)
    add = add_command(model_sub, "add", cmd_model_add, "register a model: load its weights safely, record its "
                      "input shape and preprocessing, and find its layers")
    add.add_argument("name")
    add.add_argument("--arch", required=True, help=ARCH_HELP)
    add.add_argument("--weights", help=f"{WEIGHTS_HELP}; optional for the demo models. On a model imported from "
                     "a bundle, an admin registers it here (its recorded input shape, preprocessing and layer "
                     "patterns are used unless given)")
    _input_options(add)
    add_command(model_sub, "list", cmd_model_list, "registered models")
    layers = add_command(model_sub, "layers", cmd_model_layers, "list the modules a model offers as layers "
                         "(name, type, kind, output shape, channels): a registered model by NAME, or one to "
                         "register with --arch [--weights] [--input-shape] [--layers]")
    layers.add_argument("name", nargs="?", help="a registered model")
    layers.add_argument("--arch", help=ARCH_HELP)
    layers.add_argument("--weights", help=f"{WEIGHTS_HELP}; not needed to list shapes")
    _input_options(layers)
