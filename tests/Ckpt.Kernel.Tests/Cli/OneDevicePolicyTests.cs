using Ckpt.Benchmarks;
using Ckpt.Conversion;
using Ckpt.Errors;
using Ckpt.Forensics.Restor;
using Ckpt.Forensics.Restor.Toy;
using Ckpt.Merging;
using Ckpt.Models;
using Ckpt.Tensors;
using Ckpt.Training;
using Ckpt.Verbs;

namespace Ckpt.Tests.Cli;

/// <summary>
/// Issue #14, one of each policy: every verb that takes `--device`, `--threads` or `--dtype` shows the same help for it
/// and refuses a bad value with the same sentence, before any model is read. The verbs are walked from
/// <see cref="VerbCatalog.All"/>, so a new verb with one of these options fails here until it is checked the same way.
/// </summary>
public sealed class OneDevicePolicyTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("ckpt-policy-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>How each verb binds and checks what it was given, as its CLI command and magic do before any model is read.</summary>
    static readonly Dictionary<string, Action<IReadOnlyDictionary<string, IReadOnlyList<string>>>> Checks = new()
    {
        ["finetune"] = g => FineTuningVerb.Bind(g).Validate(),
        ["generate"] = g => GenerateVerb.Bind(g).Validate(),
        ["restor"] = g => RestorVerb.Bind(g).Validate(),
        ["restor-toy"] = g => RestorToyVerb.Bind(g).Validate(),
        ["forward"] = g =>
        {
            var r = ForwardVerb.Bind(g);
            CausalLmForward.Run(r.Model, r.InputIds, r.Output, r.DType, r.Device, r.Config, default, r.Adapter, r.Overwrite);
        },
        ["bench forward"] = g =>
        {
            var v = BenchVerbs.Forward.Read(g);
            ForwardBenchmark.Run(v.Required("--model"), 1, 1, 1, v.Text("--device"), v.Text("--dtype"));
        },
        ["convert"] = g => ConvertVerb.Bind(g),
        ["merge"] = g => MergeVerb.Bind(g).Request.ToSpec(),
        ["lcsc"] = g => LcscVerb.Bind(g),
    };

    /// <summary>Values beyond the required ones that a verb's check needs before it reaches these options.</summary>
    static readonly Dictionary<string, Dictionary<string, string>> Extra = new()
    {
        ["finetune"] = new() { ["--steps"] = "1" },
        ["generate"] = new() { ["--prompt"] = "hello" },
        ["merge"] = new() { ["--method"] = "linear" },
        ["lcsc"] = new() { ["--eval"] = "mse:{file}" },
    };

    public static TheoryData<string, string> VerbsWith(params string[] options)
    {
        var data = new TheoryData<string, string>();
        foreach (var option in options)
            foreach (var verb in VerbCatalog.All.Where(v => v.Options.Any(o => o.Name == option)))
                data.Add(verb.Name, option);
        return data;
    }

    public static TheoryData<string, string> PolicyOptions() => VerbsWith("--device", "--threads", "--dtype");

    public static TheoryData<string, string> DeviceOptions() => VerbsWith("--device");

    static readonly string[] ComputeVerbs = ["finetune", "generate", "restor", "forward", "bench forward"];

    [Fact]
    public void The_verbs_that_run_a_model_are_the_ones_with_a_device()
    {
        var withDevice = VerbCatalog.All.Where(v => v.Options.Any(o => o.Name == "--device")).Select(v => v.Name).Order();
        Assert.Equal(ComputeVerbs.Order(), withDevice);
    }

    [Theory]
    [MemberData(nameof(PolicyOptions))]
    public void Every_verb_shows_the_same_help(string verbName, string optionName)
    {
        var option = VerbCatalog.All.Single(v => v.Name == verbName)[optionName];
        switch (optionName)
        {
            case "--device":
                Assert.Equal(ComputeDevice.Help, option.Help);
                Assert.Equal("cpu", option.Default);
                break;
            case "--threads":
                Assert.Equal(LibTorchThreads.Help, option.Help);
                Assert.Equal(OptionKind.Integer, option.Kind);
                break;
            default:
                if (ComputeVerbs.Contains(verbName)) Assert.Equal(DTypeNames.ComputeHelp, option.Help);
                else Assert.Contains(DTypeNames.Help, option.Help);
                break;
        }
    }

    [Theory]
    [MemberData(nameof(PolicyOptions))]
    public void Every_verb_refuses_a_bad_value_with_the_same_sentence(string verbName, string optionName)
    {
        Assert.True(Checks.ContainsKey(verbName), $"{verbName} takes {optionName}: add how it binds and checks to {nameof(Checks)}");
        var (bad, sentence) = optionName switch
        {
            "--device" => ("cudax", "--device must be cpu, cuda or cuda:N, not 'cudax'"),
            "--threads" => ("0", "--threads must be positive, not 0"),
            _ => ("f8", "--dtype must be F32, BF16, F16 or F64, not 'f8'"),
        };
        Assert.Equal(sentence, Refusal(verbName, optionName, bad));
        if (optionName == "--device")
        {
            Assert.Equal("--device must be cpu, cuda or cuda:N, not 'gpu'", Refusal(verbName, optionName, "gpu"));
            Assert.Equal("--device must be cpu, cuda or cuda:N, not 'cuda:-1'", Refusal(verbName, optionName, "cuda:-1"));
        }
        if (optionName == "--threads")
            Assert.Equal("--threads must be positive, not -3", Refusal(verbName, optionName, "-3"));
    }

    /// <summary>`cuda:1` and ` CUDA ` pass wherever `cpu` does: what stops the check after them (a missing file,
    /// nothing at all) is not the option.</summary>
    [Theory]
    [MemberData(nameof(DeviceOptions))]
    public void Every_verb_accepts_cuda_N_in_any_case(string verbName, string optionName)
    {
        foreach (var good in new[] { "cpu", "cuda:1", " CUDA " })
            Assert.DoesNotContain(optionName, Refusal(verbName, optionName, good) ?? "");
    }

    /// <summary>The message of what the verb's check throws with every required option given an existing file (or a
    /// plain value) and <paramref name="optionName"/> given <paramref name="value"/>; null when it throws nothing.</summary>
    string? Refusal(string verbName, string optionName, string value)
    {
        var verb = VerbCatalog.All.Single(v => v.Name == verbName);
        var file = Path.Combine(_dir, "input.bin");
        File.WriteAllBytes(file, [0]);
        var given = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var o in verb.Options.Where(o => o.Required))
        {
            var one = o.Kind == OptionKind.Path ? (o.Name == "--out" ? Path.Combine(_dir, "out") : file)
                : o.Choices is { } choices ? choices[0]
                : o.Kind == OptionKind.Integer ? "1"
                : "x";
            given[o.Name] = o.Exactly is int n ? Enumerable.Repeat(one, n).ToArray() : [one];
        }
        foreach (var (name, text) in Extra.GetValueOrDefault(verbName, []))
            given[name] = [text.Replace("{file}", file)];
        given[optionName] = [value];
        try
        {
            Checks[verbName](given);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or CheckpointFormatException)
        {
            return e.Message;
        }
    }
}
