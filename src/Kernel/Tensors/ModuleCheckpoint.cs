namespace Ckpt.Tensors;

/// <summary>
/// Fills a TorchSharp module's state (parameters and buffers, by their dotted names) from any readable checkpoint,
/// as PyTorch's `load_state_dict` does: each tensor is read whole (consolidated from its shards), cast to the
/// module's dtype and copied onto the module's device. Keys the module has and the checkpoint lacks are missing,
/// keys the checkpoint has and the module lacks unexpected; with <c>strict</c> either refuses before any tensor is
/// copied. A shape that differs refuses in both modes, as in PyTorch (its size-mismatch errors ignore <c>strict</c>).
/// </summary>
public static class ModuleCheckpoint
{
    /// <summary>`module.LoadCheckpoint(Checkpoint.Open("run/step-400"))`: the state, filled; what did not match.</summary>
    public static CheckpointLoaded LoadCheckpoint(this nn.Module module, Checkpoint checkpoint, bool strict = true,
        CancellationToken cancellationToken = default)
    {
        var state = module.state_dict();
        var missing = state.Keys.Where(k => checkpoint.Manifest.Find(k) is null).Order(StringComparer.Ordinal).ToArray();
        var unexpected = checkpoint.Manifest.Tensors.Select(t => t.Name).Where(n => !state.ContainsKey(n)).Order(StringComparer.Ordinal).ToArray();
        var misShaped = state.Where(kv => checkpoint.Manifest.Find(kv.Key) is { } e && !e.Shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key} (checkpoint {checkpoint.Manifest.Find(kv.Key)!.ShapeText}, module {Shapes.Format(kv.Value.shape)})")
            .Order(StringComparer.Ordinal).ToArray();
        if (misShaped.Length > 0 || (strict && (missing.Length > 0 || unexpected.Length > 0)))
            throw new CheckpointFormatException(FormatErrorReason.StateDictMismatch, checkpoint.Path, null,
                "the checkpoint does not fit the module: " + string.Join("; ", new[]
                {
                    List("missing", missing), List("unexpected", unexpected), List("mis-shaped", misShaped),
                }.Where(s => s.Length > 0)));

        using (no_grad())
            foreach (var (name, target) in state.Where(kv => checkpoint.Manifest.Find(kv.Key) is not null))
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var data = checkpoint.Read(name, null, cancellationToken);
                using var source = data.ToTorch(target.device, target.dtype);
                target.copy_(source);
            }
        return new CheckpointLoaded(missing, unexpected);
    }

    /// <summary>Opens <paramref name="path"/> (any format) and loads it into <paramref name="module"/>.</summary>
    public static CheckpointLoaded LoadCheckpoint(this nn.Module module, string path, bool strict = true, CancellationToken cancellationToken = default)
    {
        using var checkpoint = Checkpoint.Open(path, cancellationToken);
        return module.LoadCheckpoint(checkpoint, strict, cancellationToken);
    }

    static string List(string what, string[] keys) =>
        keys.Length == 0 ? "" : $"{keys.Length} {what} ({string.Join(", ", keys.Take(8))}{(keys.Length > 8 ? ", …" : "")})";
}

/// <summary>What <see cref="ModuleCheckpoint.LoadCheckpoint(nn.Module, Checkpoint, bool, CancellationToken)"/> left out (PyTorch's `_IncompatibleKeys`).</summary>
public sealed record CheckpointLoaded(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
