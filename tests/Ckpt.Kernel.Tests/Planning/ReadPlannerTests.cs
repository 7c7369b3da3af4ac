using Ckpt.Errors;
using Ckpt.Manifest;
using Ckpt.Planning;
using Ckpt.Storage;
using Ckpt.Tensors;
using Ckpt.Tests;

namespace Ckpt.Tests.Planning;

public class ReadPlannerTests
{
    static float[] Floats(TensorData t) => t.ToFloats();

    [Fact]
    public void A_row_slice_reads_only_the_rows_it_needs()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        var entry = ckpt.GetEntry("model.embed_tokens.weight");
        var plan = ReadPlanner.Plan(entry, new Box([10, 0], [5, 64]));
        Assert.Single(plan.Reads);
        Assert.Equal(5 * 64 * 4, plan.BytesRead);
        using var whole = ckpt.Read(entry.Name);
        using var rows = ckpt.Read(entry.Name, new Box([10, 0], [5, 64]));
        Assert.Equal(Floats(whole).Skip(10 * 64).Take(5 * 64), Floats(rows));
        Assert.Equal(5 * 64 * 4 + 512 * 64 * 4, ckpt.Storage.Statistics.TensorBytesRead);
    }

    [Fact]
    public void A_column_slice_is_coalesced_into_one_read_and_copied_out_per_row()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        var name = "model.layers.1.mlp.down_proj.weight"; // [64, 176]
        var slice = new Box([3, 100], [7, 20]);
        var plan = ReadPlanner.Plan(ckpt.GetEntry(name), slice);
        Assert.Single(plan.Reads);
        Assert.Equal(7, plan.Reads[0].Copies.Count);
        using var whole = ckpt.Read(name);
        using var part = ckpt.Read(name, slice);
        var w = Floats(whole);
        var expected = Enumerable.Range(3, 7).SelectMany(r => w.Skip(r * 176 + 100).Take(20));
        Assert.Equal(expected, Floats(part));
    }

    [Fact]
    public void With_an_over_read_budget_a_column_slice_reads_only_its_rows_and_the_same_values()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        var entry = ckpt.GetEntry("model.layers.1.mlp.down_proj.weight"); // [64, 176] f32: rows of 704 bytes
        var slice = new Box([3, 100], [7, 20]);                          // 80 needed bytes per row, 624-byte gaps
        var budgeted = ReadPlanner.Plan(entry, slice, maxOverRead: 0.05);
        Assert.Equal(7, budgeted.Reads.Count);
        Assert.Equal(7 * 80, budgeted.Reads.Sum(r => r.Length));
        var free = ReadPlanner.Plan(entry, slice);
        Assert.Equal(6 * 704 + 80, free.Reads.Sum(r => r.Length));
    }

    [Fact]
    public void Fragments_with_transposed_strides_and_storage_offsets_are_read_element_by_element()
    {
        // A [3,4] view over a 20-element storage, transposed (strides [1,3]) and starting at element 2.
        var dir = TestPaths.TempDirectory("strided");
        var storage = Enumerable.Range(0, 20).Select(i => (float)i).ToArray();
        File.WriteAllBytes(Path.Combine(dir, "raw"), storage.SelectMany(BitConverter.GetBytes).ToArray());
        var fragment = new Fragment([0, 0], [3, 4], new Payload("raw", 0, 80), [1, 3], StorageOffset: 2);
        var entry = new TensorEntry("v", DType.F32, [3, 4], [fragment]);
        using var local = new LocalStorage(dir);
        using var t = TensorReader.Read(local, entry);
        var expected = new List<float>();
        for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) expected.Add(storage[2 + i * 1 + j * 3]);
        Assert.Equal(expected, Floats(t));
        using var s = TensorReader.Read(local, entry, new Box([1, 1], [2, 2]));
        Assert.Equal(new[] { storage[2 + 1 + 3], storage[2 + 1 + 6], storage[2 + 2 + 3], storage[2 + 2 + 6] }, Floats(s));
    }

    [Fact]
    public void A_target_box_spanning_several_fragments_is_assembled_from_each()
    {
        // Global [6, 2] saved as rows [0,4) in file a and [4,6) in file b (an uneven Shard(0)).
        var dir = TestPaths.TempDirectory("frags");
        var all = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        File.WriteAllBytes(Path.Combine(dir, "a"), all[..8].SelectMany(BitConverter.GetBytes).ToArray());
        File.WriteAllBytes(Path.Combine(dir, "b"), all[8..].SelectMany(BitConverter.GetBytes).ToArray());
        var entry = new TensorEntry("w", DType.F32, [6, 2],
        [
            new Fragment([0, 0], [4, 2], new Payload("a", 0, 32), [2, 1], 0, 0),
            new Fragment([4, 0], [2, 2], new Payload("b", 0, 16), [2, 1], 0, 1),
        ]);
        using var local = new LocalStorage(dir);
        using var t = TensorReader.Read(local, entry, new Box([3, 0], [2, 2]));
        Assert.Equal(all[6..10], Floats(t));
        Assert.Equal(16, local.Statistics.TensorBytesRead);
    }

    [Fact]
    public void Fragments_that_do_not_cover_the_target_are_reported()
    {
        var entry = new TensorEntry("w", DType.F32, [4], [new Fragment([0], [3], new Payload("a", 0, 12), [1])]);
        var e = Assert.Throws<CheckpointFormatException>(() => ReadPlanner.Plan(entry));
        Assert.Equal(FormatErrorReason.ChunksDoNotCoverTensor, e.Reason);
        Assert.Equal("w", e.Tensor);
    }

    [Fact]
    public void A_slice_outside_the_shape_is_refused()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-gpt2-tiny"));
        var e = Assert.Throws<CheckpointFormatException>(() => ckpt.Read("transformer.wte.weight", new Box([500, 0], [20, 64])));
        Assert.Equal(FormatErrorReason.SliceOutOfBounds, e.Reason);
    }

    [Fact]
    public void A_zero_dim_tensor_reads_one_element()
    {
        var dir = TestPaths.TempDirectory("scalar");
        File.WriteAllBytes(Path.Combine(dir, "s"), BitConverter.GetBytes(7.5f));
        var entry = new TensorEntry("s", DType.F32, [], [new Fragment([], [], new Payload("s", 0, 4), [])]);
        using var local = new LocalStorage(dir);
        using var t = TensorReader.Read(local, entry);
        Assert.Equal([7.5f], Floats(t));
    }
}
