using Ckpt.Resharding;

namespace Ckpt.Tests.Resharding;

public class ReadForRankTests
{
    static string Reference => TestPaths.Fixture("dcp-dtensor1d-4rank", "reference_full_model.safetensors");

    public static TheoryData<string> Layouts => ["dtensor:1", "dtensor:2", "dtensor:3", "dtensor:5", "dtensor:8", "mesh", "flat:3", "flat:8", "tp:2"];

    internal static TargetLayout Make(string spec) => spec.Split(':') switch
    {
        ["dtensor", var n] => DTensorLayout.Sharded(int.Parse(n)),
        ["mesh"] => new DTensorLayout([2, 2], Placement.ParseList("Shard(0),Shard(1)")),
        ["flat", var n] => new FlatShardLayout(int.Parse(n)),
        ["tp", var n] => new TensorParallelLayout(int.Parse(n)),
        _ => throw new ArgumentException(spec),
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Every_rank_of_a_safetensors_source_gets_exactly_the_reference_slices(string spec)
    {
        var layout = Make(spec);
        using var source = Checkpoint.Open(Reference);
        using var reference = Checkpoint.Open(Reference);
        for (int r = 0; r < layout.WorldSize; r++)
        {
            using var mine = source.ReadForRank(layout, r);
            Assert.Equal(source.Manifest.Tensors.Count, mine.Tensors.Count);
            foreach (var (name, data) in mine.Tensors)
            {
                using var full = reference.Read(name);
                var expected = ReferenceSlices.Expected(full, mine.Plan.Tensors.Single(t => t.Tensor.Name == name).Shard);
                Assert.True(expected.AsSpan().SequenceEqual(data.Bytes), $"rank {r} of {layout}: {name} differs");
            }
        }
    }
}
