using System.Text.Json;
using Ckpt.Formats.Safetensors;
using Ckpt.Formats.TorchSave;
using Ckpt.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Ckpt.Tests.Tensors;

/// <summary>
/// Round trips with TorchSharp.PyBridge 1.4.4: what its `save_py` writes for a module and for an Adam optimizer, Ckpt
/// reads, `LoadCheckpoint` loads, and torch 1.13 loads (tests/python/pybridge_check.py); what Ckpt's torch.save writer
/// writes, PyBridge's `load_py` loads into a module and an optimizer, and torch 1.13 loads too. Every comparison is
/// exact (tolerance 0): nothing in these paths converts a float.
/// </summary>
public class PyBridgeRoundTripTests
{
    static Sequential Model() => nn.Sequential(("fc", nn.Linear(4, 3)), ("norm", nn.BatchNorm1d(3)));

    /// <summary>A seeded model after two Adam steps, so the moments, the step count and BatchNorm's running stats are all non-trivial.</summary>
    static (Sequential Model, Adam Adam) Trained()
    {
        manual_seed(16);
        var model = Model();
        var adam = optim.Adam(model.parameters(), lr: 0.01);
        model.train();
        for (int i = 0; i < 2; i++)
        {
            using var scope = NewDisposeScope();
            adam.zero_grad();
            model.forward(randn(5, 4)).pow(2).sum().backward();
            adam.step();
        }
        return (model, adam);
    }

    static Adam.State[] States(Adam adam) => adam.state_dict().State.Cast<Adam.State>().ToArray();

    static float[] Values(Tensor t) => t.detach().cpu().to(float32).data<float>().ToArray();

    static float[] Values(Checkpoint ckpt, string name)
    {
        using var data = ckpt.Read(name);
        using var t = data.ToTorch(dtype: float32);
        return Values(t);
    }

    static JsonElement TorchLoads(string model, string optimizer)
    {
        var script = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "python", "pybridge_check.py"));
        var (code, stdout, stderr) = PythonTorch.Run(script, model, optimizer);
        Assert.True(code == 0, stderr);
        return JsonDocument.Parse(stdout).RootElement;
    }

    static void AssertPythonSaw(JsonElement python, string name, float[] expected) =>
        Assert.Equal(expected, python.GetProperty(name).EnumerateArray().Select(v => (float)v.GetDouble()).ToArray());

    [PythonTorchFact]
    public void What_PyBridge_saves_Ckpt_reads_and_LoadCheckpoint_loads_with_equal_values_and_torch_loads_it_too()
    {
        var dir = TestPaths.TempDirectory("pybridge-save");
        var (model, adam) = Trained();
        using var _m = model;
        using var _a = adam;
        model.save_py(Path.Combine(dir, "model.pt"));
        adam.save_py(Path.Combine(dir, "optim.pt"));

        using var ckpt = Checkpoint.Open(Path.Combine(dir, "model.pt"));
        var state = model.state_dict();
        Assert.Equal(state.Keys.Order(StringComparer.Ordinal), ckpt.Manifest.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var (name, value) in state)
        {
            Assert.Equal(TorchInterop.ToDType(value.dtype), ckpt.GetEntry(name).DType);
            Assert.Equal(Values(value), Values(ckpt, name));
        }

        using var optimizer = Checkpoint.Open(Path.Combine(dir, "optim.pt"));
        var states = States(adam);
        Assert.Equal(4, states.Length);  // fc.weight, fc.bias, norm.weight, norm.bias
        for (int i = 0; i < states.Length; i++)
        {
            Assert.Equal(Values(states[i].exp_avg), Values(optimizer, $"state.{i}.exp_avg"));
            Assert.Equal(Values(states[i].exp_avg_sq), Values(optimizer, $"state.{i}.exp_avg_sq"));
            Assert.Equal([2f], Values(optimizer, $"state.{i}.step"));
        }
        Assert.Equal(0.01, Convert.ToDouble(optimizer.Manifest.Objects.Single(o => o.Name == "param_groups.0.lr").Value));

        using var fresh = Model();
        var loaded = fresh.LoadCheckpoint(Path.Combine(dir, "model.pt"));
        Assert.Empty(loaded.MissingKeys);
        foreach (var (name, value) in fresh.state_dict()) Assert.Equal(Values(state[name]), Values(value));

        var python = TorchLoads(Path.Combine(dir, "model.pt"), Path.Combine(dir, "optim.pt"));
        foreach (var (name, value) in state) AssertPythonSaw(python, name, Values(value));
        for (int i = 0; i < states.Length; i++) AssertPythonSaw(python, $"state.{i}.exp_avg", Values(states[i].exp_avg));
    }

    [PythonTorchFact]
    public void What_Ckpt_writes_PyBridge_loads_into_a_module_and_an_optimizer_and_torch_loads_it_too()
    {
        var dir = TestPaths.TempDirectory("pybridge-load");
        var (model, adam) = Trained();
        using var _m = model;
        using var _a = adam;
        adam.save_py(Path.Combine(dir, "pybridge-optim.pt"));

        // The module's state through Ckpt's state-dict writer; the optimizer's as Ckpt read it back from PyBridge's file.
        var sources = model.state_dict().Select(kv => new TensorSource(kv.Key, TorchInterop.ToDType(kv.Value.dtype), kv.Value.shape,
            () => TorchInterop.ToTensorData(kv.Value, kv.Key))).ToArray();
        TorchSaveWriter.Write(Path.Combine(dir, "model.pt"), sources);
        using (var read = Checkpoint.Open(Path.Combine(dir, "pybridge-optim.pt")))
            TorchSaveWriter.WriteObject(Path.Combine(dir, "optim.pt"), OptimizerStateDict.From(read));

        using var viaPyBridge = Model();
        viaPyBridge.load_py(Path.Combine(dir, "model.pt"));
        using var viaCkpt = Model();
        viaCkpt.LoadCheckpoint(Path.Combine(dir, "model.pt"));
        foreach (var (name, value) in model.state_dict())
        {
            Assert.Equal(Values(value), Values(viaPyBridge.state_dict()[name]));
            Assert.Equal(Values(value), Values(viaCkpt.state_dict()[name]));
        }

        using var freshAdam = optim.Adam(viaPyBridge.parameters(), lr: 0.5);
        freshAdam.load_py(Path.Combine(dir, "optim.pt"));
        var want = States(adam);
        var got = States(freshAdam);
        for (int i = 0; i < want.Length; i++)
        {
            Assert.Equal(Values(want[i].exp_avg), Values(got[i].exp_avg));
            Assert.Equal(Values(want[i].exp_avg_sq), Values(got[i].exp_avg_sq));
            Assert.Equal(want[i].step, got[i].step);
        }
        Assert.Equal(0.01, freshAdam.ParamGroups.First().LearningRate);

        var python = TorchLoads(Path.Combine(dir, "model.pt"), Path.Combine(dir, "optim.pt"));
        foreach (var (name, value) in model.state_dict()) AssertPythonSaw(python, name, Values(value));
        for (int i = 0; i < want.Length; i++) AssertPythonSaw(python, $"state.{i}.exp_avg_sq", Values(want[i].exp_avg_sq));
    }
}
