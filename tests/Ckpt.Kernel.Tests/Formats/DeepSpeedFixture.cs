namespace Ckpt.Tests.Formats;

/// <summary>
/// DeepSpeed cannot be installed here, so DeepSpeed tests build their checkpoints from the documented layout
/// (formats.md §4; what deepspeed/runtime/engine.py writes and zero_to_fp32.py / ds_to_universal.py read) with real
/// torch.save (Debian's python3-torch 1.13) through tests/python/make_deepspeed_zero.py, which also writes
/// `reference.pt`: every tensor the reader should expose, under the name it should expose it, as the script built it.
/// </summary>
static class DeepSpeedFixture
{
    /// <summary>A fresh folder holding a ZeRO checkpoint of <paramref name="stage"/> ("1", "2", "3" or "ucp") over <paramref name="world"/> DP ranks.</summary>
    public static string Build(string stage, int world = 4)
    {
        var dir = TestPaths.TempDirectory($"deepspeed-{stage}-w{world}");
        var script = Path.Combine(TestPaths.RepoRoot, "tests", "python", "make_deepspeed_zero.py");
        var (code, stdout, stderr) = PythonTorch.Run(File.ReadAllText(script), dir, stage, world.ToString());
        Assert.True(code == 0, stdout + stderr);
        return dir;
    }

    /// <summary>Rewrites one value of a rank file in place with torch (the stand-in DeepSpeed classes are defined first).</summary>
    public static void Edit(string file, string pythonStatement)
    {
        const string script = """
            import collections, enum, sys, types, torch
            def stand(module, name, cls):
                parts = module.split(".")
                for i in range(1, len(parts) + 1):
                    sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
                cls.__module__, cls.__qualname__, cls.__name__ = module, name, name
                setattr(sys.modules[module], name, cls)
            class DynamicLossScaler: pass
            class ZeroStageEnum(int, enum.Enum):
                disabled, optimizer_states, gradients, weights = 0, 1, 2, 3
            stand("deepspeed.runtime.zero.config", "ZeroStageEnum", ZeroStageEnum)
            stand("deepspeed.runtime.fp16.loss_scaler", "DynamicLossScaler", DynamicLossScaler)
            stand("deepspeed.utils.tensor_fragment", "fragment_address", collections.namedtuple("fragment_address", ["numel", "start"]))
            path = sys.argv[1]
            sd = torch.load(path)
            exec(sys.argv[2])
            torch.save(sd, path)
            """;
        var (code, stdout, stderr) = PythonTorch.Run(script, file, pythonStatement);
        Assert.True(code == 0, stdout + stderr);
    }
}
