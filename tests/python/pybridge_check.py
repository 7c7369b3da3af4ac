"""Reads TorchSharp.PyBridge's (or Ckpt's) torch.save files with real torch and loads them where they belong.

    pybridge_check.py MODEL.pt OPTIM.pt

The model is the one the xunit test builds in TorchSharp (`PyBridgeRoundTripTests`): Sequential(fc=Linear(4, 3),
norm=BatchNorm1d(3)), trained two Adam steps. torch 1.13's `weights_only` unpickler lacks BINFLOAT (opcode 'G'), which
every optimizer state holds (lr, betas), so both files are read through a pickle module whose `find_class` allows
only what a state dict needs (`_rebuild_tensor_v2`, `OrderedDict`, storages): nothing in them executes; the state is loaded with `module.load_state_dict(strict=True)` and `Adam.load_state_dict`, and one more
Adam step must run on the loaded state. Prints one JSON object: every tensor of both files as a flat list under its
dotted name (`fc.weight`, `state.0.exp_avg`), plus each param group's scalars and torch's version.
"""
import collections
import json
import pickle
import sys
import types

import torch


class _StateDictUnpickler(pickle.Unpickler):
    ALLOWED = {("torch._utils", "_rebuild_tensor_v2"), ("collections", "OrderedDict")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a state dict")


RESTRICTED = types.SimpleNamespace(__name__="restricted_pickle", Unpickler=_StateDictUnpickler, load=pickle.load)


def flat(prefix, value, out):
    if isinstance(value, torch.Tensor):
        out[prefix] = value.double().flatten().tolist()
    elif isinstance(value, dict):
        for k, v in value.items():
            flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, (list, tuple)) and any(isinstance(v, (torch.Tensor, dict)) for v in value):
        for i, v in enumerate(value):
            flat(f"{prefix}.{i}" if prefix else str(i), v, out)
    else:
        out[prefix] = value


def main(model_file, optim_file):
    model_state = torch.load(model_file, pickle_module=RESTRICTED)
    optim_state = torch.load(optim_file, pickle_module=RESTRICTED)
    model = torch.nn.Sequential(collections.OrderedDict(fc=torch.nn.Linear(4, 3), norm=torch.nn.BatchNorm1d(3)))
    model.load_state_dict(model_state, strict=True)
    adam = torch.optim.Adam(model.parameters())
    adam.load_state_dict(optim_state)
    loss = model(torch.ones(2, 4)).pow(2).sum()
    loss.backward()
    adam.step()
    out = {"torch": torch.__version__}
    flat("", model_state, out)
    flat("", optim_state, out)
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
