using System.Text.Json;
using Ckpt.Conversion;

namespace Ckpt.Tests.Conversion;

public class ConvertToDcpAndTorchTests
{
    static string Fixture => TestPaths.Fixture("dcp-dtensor1d-4rank");
    static string Reference => TestPaths.Fixture("dcp-dtensor1d-4rank", "reference_full_model.safetensors");

    [Fact]
    public void A_sharded_dcp_converted_to_a_single_rank_dcp_reads_back_equal_with_its_values()
    {
        var dir = TestPaths.TempDirectory("convert-dcp");
        using var source = Checkpoint.Open(Fixture);
        var result = CheckpointConverter.Convert(source, new ConvertOptions(TargetFormat.Dcp, dir));
        Assert.DoesNotContain(result.SkippedObjects, o => !o.StartsWith(".metadata/"));
        using var back = Checkpoint.Open(dir);
        using var reference = Checkpoint.Open(Reference);
        Assert.Equal(1, back.Manifest.Layout.WorldSize);
        foreach (var t in reference.Manifest.Tensors)
        {
            using var a = reference.Read(t.Name);
            using var b = back.Read(t.Name);
            Assert.True(a.Bytes.SequenceEqual(b.Bytes), t.Name);
        }
        Assert.Equal("7", Manifest.ManifestJson.Describe(back.Manifest.Objects.Single(o => o.Name == "scalar_meta.step").Value));
    }

    [Fact]
    public void Converting_to_torch_writes_a_model_pt_that_ckpt_reads_back_equal()
    {
        var dir = TestPaths.TempDirectory("convert-torch");
        using var source = Checkpoint.Open(Fixture);
        var result = CheckpointConverter.Convert(source, new ConvertOptions(TargetFormat.Torch, dir, Only: ["model.layers.0.**", "lm_head.weight"]));
        Assert.Equal(10, result.TensorCount);
        using var back = Checkpoint.Open(Path.Combine(dir, "model.pt"));
        using var reference = Checkpoint.Open(Reference);
        Assert.Equal(10, back.Manifest.Tensors.Count);
        foreach (var t in back.Manifest.Tensors)
        {
            using var a = reference.Read(t.Name);
            using var b = back.Read(t.Name);
            Assert.True(a.Bytes.SequenceEqual(b.Bytes), t.Name);
        }
    }

    [Trait("Category", "slow")]
    [PythonTorchFact]
    public void Torch_1_13_loads_the_converted_model_pt_and_it_equals_the_reference()
    {
        var dir = TestPaths.TempDirectory("convert-torch-py");
        using (var source = Checkpoint.Open(Fixture))
            CheckpointConverter.Convert(source, new ConvertOptions(TargetFormat.Torch, dir));
        const string script = """
            import sys, json, struct, torch
            sd = torch.load(sys.argv[1], weights_only=True)
            f = open(sys.argv[2], "rb"); n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n)); base = 8 + n
            bad = []
            for k, v in h.items():
                if k == "__metadata__": continue
                f.seek(base + v["data_offsets"][0]); raw = bytearray(f.read(v["data_offsets"][1] - v["data_offsets"][0]))
                ref = torch.frombuffer(raw, dtype=torch.float32).reshape(v["shape"])
                if k not in sd or not torch.equal(sd[k], ref): bad.append(k)
            print(json.dumps({"loaded": len(sd), "bad": bad}))
            sys.exit(1 if bad else 0)
            """;
        var (code, stdout, stderr) = PythonTorch.Run(script, Path.Combine(dir, "model.pt"), Reference);
        Assert.True(code == 0, stdout + stderr);
        using var doc = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        Assert.Equal(39, doc.RootElement.GetProperty("loaded").GetInt32());
    }
}
