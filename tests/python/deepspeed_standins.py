"""Stand-ins for the DeepSpeed classes its checkpoints pickle (DeepSpeed cannot be installed here), registered under
DeepSpeed's own module names so torch.save writes the same GLOBAL opcodes a real run writes. Shared by
make_deepspeed_zero.py and make_deepspeed_model_parallel.py."""
import collections
import enum
import sys
import types


def stand_in(module, name, cls):
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    cls.__module__, cls.__qualname__, cls.__name__ = module, name, name
    setattr(sys.modules[module], name, cls)
    return cls


class DynamicLossScaler:
    def __init__(self, cur_scale=65536.0):
        self.cur_scale, self.cur_iter, self.scale_factor, self.scale_window = cur_scale, 10, 2.0, 1000


class ZeroStageEnum(int, enum.Enum):
    disabled, optimizer_states, gradients, weights, max_stage = 0, 1, 2, 3, 3


stand_in("deepspeed.runtime.fp16.loss_scaler", "DynamicLossScaler", DynamicLossScaler)
stand_in("deepspeed.runtime.zero.config", "ZeroStageEnum", ZeroStageEnum)
fragment_address = stand_in("deepspeed.utils.tensor_fragment", "fragment_address",
                            collections.namedtuple("fragment_address", ["numel", "start"]))
