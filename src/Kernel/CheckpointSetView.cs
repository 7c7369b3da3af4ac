namespace Ckpt;

/// <summary>
/// A <see cref="CheckpointSet"/> seen as one checkpoint, for the verbs that look at several checkpoints at once
/// (`layout`, `diff`): each member's tensors are named `&lt;member&gt;/&lt;tensor&gt;` (the member's name without its
/// extension, `step-0400/model.norm.weight`) and its files `&lt;member file or folder&gt;[/file]`, all read in place from
/// the set's folder. Format `set`; `set.members` in the metadata lists the prefixes in name order. Commands that need
/// one model still refuse a set (<see cref="CheckpointSet.NameOne"/>).
/// </summary>
public static class CheckpointSetView
{
    public const string Format = "set";
    public const string MembersKey = "set.members";

    /// <summary>A checkpoint, or where <paramref name="path"/> is a set, the set as one view.</summary>
    public static Checkpoint OpenCheckpointOrSet(string path, CancellationToken cancellationToken = default) =>
        CheckpointSet.TryOpen(path, cancellationToken) is { } set ? Open(set, cancellationToken) : Checkpoint.Open(path, cancellationToken);

    public static Checkpoint Open(CheckpointSet set, CancellationToken cancellationToken = default)
    {
        var prefixes = Prefixes(set.Members.Select(m => m.Name).ToArray());
        var tensors = new List<TensorEntry>();
        var objects = new List<ObjectEntry>();
        var files = new List<StorageFile>();
        for (int i = 0; i < set.Members.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var member = set.Members[i];
            using var ckpt = Checkpoint.Open(member.Path, cancellationToken);
            // A file member's storage is the set's folder already; a folder member's files sit one level down.
            string Relocate(string file) => Directory.Exists(member.Path) ? member.Name + "/" + file : file;
            var head = prefixes[i] + "/";
            tensors.AddRange(ckpt.Manifest.Tensors.Select(t => t with
            {
                Name = head + t.Name,
                Fragments = t.Fragments.Select(f => f with { Payload = f.Payload with { File = Relocate(f.Payload.File) } }).ToArray(),
            }));
            objects.AddRange(ckpt.Manifest.Objects.Select(o => o with { Name = head + o.Name, File = o.File is null ? null : Relocate(o.File) }));
            files.AddRange(ckpt.Manifest.Files.Select(f => f with { Path = Relocate(f.Path) }));
        }
        var manifest = new CheckpointManifest
        {
            Format = Format,
            Framework = "set",
            Metadata = new Dictionary<string, string>
            {
                [MembersKey] = string.Join(", ", prefixes),
                ["set.left_out"] = string.Join(", ", set.LeftOut),
            },
            Tensors = tensors,
            Objects = objects,
            Files = files,
        };
        return Checkpoint.FromManifest(set.Folder, manifest, new LocalStorage(Path.GetFullPath(set.Folder)));
    }

    /// <summary>The member prefixes of a set view, or null where the checkpoint is not one.</summary>
    public static IReadOnlyList<string>? Members(Checkpoint checkpoint) =>
        checkpoint.Manifest.Format == Format && checkpoint.Manifest.Metadata.TryGetValue(MembersKey, out var m)
            ? m.Split(", ") : null;

    /// <summary>
    /// <paramref name="single"/>'s tensors once under each prefix, pointing at the same bytes: so that a diff of a set
    /// against one checkpoint pairs every member with it (`step-0025/w` with `w`, `step-0050/w` with `w`, ...).
    /// </summary>
    public static CheckpointManifest Repeat(CheckpointManifest single, IReadOnlyList<string> prefixes) => single with
    {
        Tensors = prefixes.SelectMany(p => single.Tensors.Select(t => t with { Name = p + "/" + t.Name })).ToArray(),
        Objects = [],
    };

    /// <summary>Names without their extension where that keeps them distinct (`step-0400.safetensors` → `step-0400`).</summary>
    static string[] Prefixes(string[] names)
    {
        var stems = names.Select(n => Path.GetFileNameWithoutExtension(n) is { Length: > 0 } s ? s : n).ToArray();
        return stems.Distinct(StringComparer.Ordinal).Count() == stems.Length ? stems : names;
    }
}
