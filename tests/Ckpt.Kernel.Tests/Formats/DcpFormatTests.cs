using Ckpt.Formats.Dcp;
using Ckpt.Manifest;
using Ckpt.Planning;
using Ckpt.Tensors;

namespace Ckpt.Tests.Formats;

/// <summary>The DCP reader against the real folders torch 2.11 wrote (DTensor Shard(0) and FSDP2 + AdamW, 4 ranks).</summary>
public class DcpFormatTests
{
    // FSDP2's state dict nests the HF model under `model.`, so `model.model.layers.0...` is the reference's `model.layers.0...`.
    public static TheoryData<string, string> Fixtures => new()
    {
        { "dcp-dtensor1d-4rank", "" },
        { "dcp-fsdp2-4rank", "model." },
    };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Every_model_tensor_equals_the_reference_byte_for_byte(string fixture, string prefix)
    {
        using var dcp = Checkpoint.Open(TestPaths.Fixture(fixture));
        using var reference = Checkpoint.Open(TestPaths.Fixture(fixture, "reference_full_model.safetensors"));
        Assert.Equal("dcp", dcp.Manifest.Format);
        Assert.Equal(reference.Manifest.Tensors.Count, dcp.Manifest.Tensors.Count(t => !t.Name.StartsWith("optim.", StringComparison.Ordinal)));
        foreach (var expected in reference.Manifest.Tensors)
        {
            var entry = dcp.GetEntry(prefix + expected.Name);
            Assert.Equal(expected.DType, entry.DType);
            Assert.Equal(expected.Shape, entry.Shape);
            using var want = reference.Read(expected.Name);
            using var got = dcp.Read(entry.Name);
            Assert.True(want.Bytes.SequenceEqual(got.Bytes), $"{entry.Name} differs from the reference");
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Chunk_payloads_become_plain_byte_ranges_one_per_rank(string fixture, string prefix)
    {
        using var dcp = Checkpoint.Open(TestPaths.Fixture(fixture));
        var q = dcp.GetEntry(prefix + "model.layers.0.self_attn.q_proj.weight");
        Assert.Equal(4, q.Fragments.Count);
        Assert.All(q.Fragments, f => Assert.True(f.Payload.IsRaw));
        Assert.Equal([0, 1, 2, 3], q.Fragments.Select(f => f.WriterRank ?? -1).Order());
        Assert.Equal([0L, 16, 32, 48], q.Fragments.Select(f => f.Offsets[0]).Order());
        Assert.All(q.Fragments, f =>
        {
            Assert.Equal([16L, 64], f.Lengths);
            Assert.Equal([64L, 1], f.Strides);
            Assert.Equal(16 * 64 * 4, f.Payload.Length);
            Assert.EndsWith("/data/0", f.Payload.ZipMember);
        });
        Assert.Equal(4, dcp.Manifest.Layout.WorldSize);
    }

    public static TheoryData<string, string, long[], long[]> Slices => new()
    {
        // rows 3..17 cross the boundary at row 16 of a Shard(0) tensor split in 16-row chunks
        { "dcp-dtensor1d-4rank", "model.layers.0.self_attn.q_proj.weight", [3, 0], [15, 64] },
        // a window crossing two boundaries (44, 88) and cutting columns
        { "dcp-dtensor1d-4rank", "model.layers.1.mlp.gate_proj.weight", [40, 5], [60, 30] },
        { "dcp-fsdp2-4rank", "model.layers.2.mlp.down_proj.weight", [10, 100], [30, 70] },
        { "dcp-fsdp2-4rank", "model.norm.weight", [13], [40] },
    };

    [Theory]
    [MemberData(nameof(Slices))]
    public void A_slice_across_chunk_boundaries_equals_the_reference_slice(string fixture, string name, long[] offsets, long[] lengths)
    {
        var prefix = fixture.Contains("fsdp2") ? "model." : "";
        using var dcp = Checkpoint.Open(TestPaths.Fixture(fixture));
        using var reference = Checkpoint.Open(TestPaths.Fixture(fixture, "reference_full_model.safetensors"));
        var box = new Box(offsets, lengths);
        using var want = reference.Read(name, box);
        dcp.Storage.Statistics.Reset();
        using var got = dcp.Read(prefix + name, box);
        Assert.Equal(lengths, got.Shape);
        Assert.True(want.Bytes.SequenceEqual(got.Bytes));
        // Only the chunks the slice touches are read, not the whole tensor.
        var entry = dcp.GetEntry(prefix + name);
        var touched = entry.Fragments.Where(f => new Box(f.Offsets, f.Lengths).Intersect(box) is not null).Sum(f => f.Payload.Length);
        Assert.InRange(dcp.Storage.Statistics.TensorBytesRead, got.ByteLength, touched);
    }

    [Fact]
    public void Inspecting_reads_no_tensor_bytes()
    {
        using var dcp = Checkpoint.Open(TestPaths.Fixture("dcp-fsdp2-4rank"));
        Assert.Equal(0, dcp.Storage.Statistics.TensorBytesRead);
        Assert.True(dcp.Storage.Statistics.MetadataBytesRead > 0);
        Assert.All(dcp.Manifest.Tensors, t => Assert.NotEmpty(t.Fragments));
    }

    [Fact]
    public void Optimizer_moments_after_one_AdamW_step_are_consistent()
    {
        // After one step from zero, exp_avg = (1-β1)·g and exp_avg_sq = (1-β2)·g², so exp_avg² = 10·exp_avg_sq for β = (0.9, 0.999).
        using var dcp = Checkpoint.Open(TestPaths.Fixture("dcp-fsdp2-4rank"));
        var moments = dcp.Manifest.Tensors.Where(t => t.Name.EndsWith(".exp_avg", StringComparison.Ordinal)).ToArray();
        Assert.Equal(39, moments.Length);
        foreach (var m in moments)
        {
            using var avg = dcp.Read(m.Name);
            using var sq = dcp.Read(m.Name + "_sq");
            var a = avg.ToDoubles();
            var s = sq.ToDoubles();
            Assert.Contains(s, v => v > 0);
            for (int i = 0; i < a.Length; i++)
                if (s[i] > 1e-20) Assert.True(Math.Abs(a[i] * a[i] / s[i] - 10) < 1e-2, $"{m.Name}[{i}]: {a[i]}² / {s[i]}");
        }
        var step = dcp.GetEntry("optim.state.model.layers.0.self_attn.q_proj.weight.step");
        Assert.Empty(step.Shape);
        using var stepValue = dcp.Read(step.Name);
        Assert.Equal([1.0], stepValue.ToDoubles());
    }

    [Fact]
    public void Bytes_items_decode_to_their_values()
    {
        using var dcp = Checkpoint.Open(TestPaths.Fixture("dcp-fsdp2-4rank"));
        var objects = dcp.Manifest.Objects.ToDictionary(o => o.Name);
        Assert.Equal(0.001, Assert.IsType<double>(objects["optim.param_groups.0.lr"].Value));
        Assert.Equal(1L, objects["train_state.step"].Value);
        Assert.IsType<double>(objects["train_state.loss"].Value);
        Assert.Equal(false, objects["optim.param_groups.0.amsgrad"].Value);
        var betas = Assert.IsAssignableFrom<IReadOnlyList<object?>>(objects["optim.param_groups.0.betas"].Value);
        Assert.Equal([0.9, 0.999], betas.Cast<double>());
        var parameters = Assert.IsAssignableFrom<IEnumerable<object?>>(objects["optim.param_groups.0.params"].Value);
        Assert.Equal(39, parameters.Count());
        Assert.Equal("model.embed_tokens.weight", parameters.First());
        Assert.Equal("__1_0.distcp", objects["train_state.step"].File);

        using var dtensor = Checkpoint.Open(TestPaths.Fixture("dcp-dtensor1d-4rank"));
        Assert.Equal("dtensor 1d", dtensor.Manifest.Objects.Single(o => o.Name == "scalar_meta.note").Value);
    }

    [Fact]
    public void Planner_data_keeps_the_nested_paths()
    {
        using var dcp = Checkpoint.Open(TestPaths.Fixture("dcp-fsdp2-4rank"));
        var planner = Assert.IsAssignableFrom<IReadOnlyDictionary<string, IReadOnlyList<object>>>(
            dcp.Manifest.Objects.Single(o => o.Name == DcpFormat.PlannerDataName).Value);
        Assert.Equal(["optim", "param_groups", 0L, "lr"], planner["optim.param_groups.0.lr"]);
        Assert.Equal(["train_state", "loss"], planner["train_state.loss"]);
    }

    [Theory]
    [InlineData("dcp-dtensor1d-4rank", "dtensor")]
    [InlineData("dcp-fsdp2-4rank", "fsdp2")]
    public void The_framework_and_layout_are_detected(string fixture, string framework)
    {
        using var dcp = Checkpoint.Open(TestPaths.Fixture(fixture));
        Assert.Equal(framework, dcp.Manifest.Framework);
        Assert.Equal(4, dcp.Manifest.Layout.WorldSize);
        Assert.Contains("split on dim 0 in 4", dcp.Manifest.Layout.Description);
        Assert.Equal("1.0.0", dcp.Manifest.Metadata["dcp.version"]);
        Assert.Equal(5, dcp.Manifest.Files.Count);
    }

    [Fact]
    public void The_probe_picks_dcp_for_the_folder_and_for_its_metadata_file()
    {
        using var folder = Checkpoint.Open(TestPaths.Fixture("dcp-dtensor1d-4rank"));
        using var file = Checkpoint.Open(TestPaths.Fixture("dcp-dtensor1d-4rank", ".metadata"));
        Assert.Equal("dcp", folder.Manifest.Format);
        Assert.Equal(folder.Manifest.Tensors.Select(t => t.Name), file.Manifest.Tensors.Select(t => t.Name));
    }
}
