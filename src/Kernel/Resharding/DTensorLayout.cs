using Ckpt.Planning;

namespace Ckpt.Resharding;

/// <summary>
/// DTensor placements over a 1-D or N-D device mesh. Ranks are numbered row-major over the mesh. Placements
/// apply in mesh-dimension order, each narrowing the box left by the previous one, so two `Shard(0)` on a 2-D
/// mesh shard dim 0 twice, as DTensor's `compute_local_shape_and_global_offset` does.
/// A `Shard(d)` on a tensor with d or fewer dimensions (norm weights and biases under `Shard(1)`) replicates it
/// along that mesh dimension: that is how torchtitan-style plans treat such parameters, and it keeps one
/// placement list valid for a whole model.
/// </summary>
public sealed class DTensorLayout : TargetLayout
{
    readonly int[] _mesh;

    public DTensorLayout(IReadOnlyList<int> mesh, IReadOnlyList<Placement> placements)
    {
        if (mesh.Count == 0 || mesh.Any(m => m <= 0))
            throw new ArgumentException($"mesh [{string.Join(", ", mesh)}] must have positive sizes");
        if (placements.Count != mesh.Count)
            throw new ArgumentException($"{placements.Count} placements for a {mesh.Count}-d mesh; give one per mesh dimension");
        if (placements.OfType<Shard>().Any(s => s.Dim < 0))
            throw new ArgumentException("Shard(dim) needs a non-negative dim");
        _mesh = mesh.ToArray();
        Placements = placements.ToArray();
        WorldSize = _mesh.Aggregate(1, (a, b) => checked(a * b));
    }

    /// <summary>`Shard(dim)` over a 1-D mesh of <paramref name="worldSize"/> ranks.</summary>
    public static DTensorLayout Sharded(int worldSize, int dim = 0) => new([worldSize], [new Shard(dim)]);

    public IReadOnlyList<Placement> Placements { get; }
    public override int WorldSize { get; }
    public override IReadOnlyList<int> Mesh => _mesh;
    public override string Description => $"DTensor mesh [{string.Join(", ", _mesh)}] ({string.Join(", ", Placements)})";

    /// <summary>The rank's coordinates on the mesh (row-major).</summary>
    public int[] Coordinates(int rank)
    {
        CheckRank(rank);
        var c = new int[_mesh.Length];
        for (int i = _mesh.Length - 1; i >= 0; i--) { c[i] = rank % _mesh[i]; rank /= _mesh[i]; }
        return c;
    }

    public override RankShard ShardOf(string name, IReadOnlyList<long> shape, int rank)
    {
        var coords = Coordinates(rank);
        var offsets = new long[shape.Count];
        var lengths = shape.ToArray();
        for (int i = 0; i < _mesh.Length; i++)
        {
            if (Placements[i] is not Shard s || s.Dim >= shape.Count) continue;
            var (o, l) = TorchChunk.Part(lengths[s.Dim], _mesh[i], coords[i]);
            offsets[s.Dim] += o;
            lengths[s.Dim] = l;
        }
        return RankShard.Of(new Box(offsets, lengths));
    }
}
