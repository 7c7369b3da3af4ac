namespace Ckpt.Resharding;

/// <summary>
/// What `--layout` asks for: DTensor placements on a device mesh, FSDP's flat shards (also spelled `fsdp`), or
/// Megatron's tensor-parallel rules (`megatron`).
/// </summary>
public enum LayoutKind { Dtensor, [OptionSpelling("fsdp")] Flat, [OptionSpelling("megatron")] Tp }

/// <summary>
/// A target layout as `ckpt reshard` and `#!ckpt-reshard` spell it (`--layout`, `--world-size`, `--mesh 2x2`,
/// `--placements "Shard(0),Replicate()"`, `--gated`), resolved in one place so both surfaces accept and refuse
/// the same text with the same sentence.
/// </summary>
public sealed record LayoutRequest(LayoutKind Kind = LayoutKind.Dtensor, int? WorldSize = null, string? Mesh = null, string? Placements = null, bool Gated = false)
{
    /// <exception cref="FormatException">The options do not describe a layout; the message names the option.</exception>
    public TargetLayout Resolve()
    {
        int[] mesh = Mesh is null ? [] : Mesh.Split('x', 'X', ',').Select(s =>
            int.TryParse(s.Trim(), out var n) && n > 0 ? n : throw new FormatException($"--mesh {Mesh} is not a mesh such as 2x2")).ToArray();
        long product = 1; // long, and checked per dimension: an int product of 65536x65536 wraps to 0
        foreach (var n in mesh)
            if ((product *= n) > int.MaxValue) throw new FormatException($"--mesh {Mesh} has more than {int.MaxValue} ranks");
        int world = mesh.Length > 0 ? (int)product : WorldSize ?? throw new FormatException("give --world-size or --mesh");
        if (WorldSize is { } w && w != world) throw new FormatException($"--world-size {w} does not match --mesh {Mesh} ({world} ranks)");
        if (world <= 0) throw new FormatException($"--world-size {world} must be positive");
        switch (Kind)
        {
            case LayoutKind.Dtensor:
                if (mesh.Length == 0) mesh = [world];
                var list = Placements is null
                    ? (mesh.Length == 1 ? [new Shard(0)] : throw new FormatException("a mesh with several dimensions needs --placements, e.g. \"Shard(0),Shard(1)\""))
                    : Placement.ParseList(Placements);
                if (list.Count != mesh.Length) throw new FormatException($"--placements gives {list.Count} placements for a {mesh.Length}-d mesh");
                return new DTensorLayout(mesh, list);
            case LayoutKind.Flat:
                return new FlatShardLayout(world);
            case LayoutKind.Tp:
                return new TensorParallelLayout(world, Gated);
            default:
                throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "not a layout kind");
        }
    }
}
