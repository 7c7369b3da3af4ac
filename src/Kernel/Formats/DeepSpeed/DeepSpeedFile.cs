using System.Numerics;
using Ckpt.Formats.TorchSave;
using Ckpt.Pickle;

namespace Ckpt.Formats.DeepSpeed;

/// <summary>
/// One torch.save file of a DeepSpeed checkpoint (zip or legacy), opened pickle-only through the restricted unpickler:
/// its top-level dict and where its storages live. DeepSpeed's own classes (loss scalers, `fragment_address`) stay
/// inert objects. The accessors throw MetadataInvalid naming this file, the key, and what was expected.
/// </summary>
sealed class DeepSpeedFile
{
    public string File { get; }
    public PyDict Root { get; }
    public ITorchStorageLocator Locator { get; }

    DeepSpeedFile(string file, PyDict root, ITorchStorageLocator locator)
    {
        File = file;
        Root = root;
        Locator = locator;
    }

    public static DeepSpeedFile Open(ICheckpointStorage storage, string file, string role)
    {
        var (root, locator) = Load(storage, file, role);
        return root is PyDict dict ? new DeepSpeedFile(file, dict, locator)
            : throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, null,
                $"a DeepSpeed {role} file holds a dict", expected: "dict", found: PyRepr.TypeName(root));
    }

    /// <summary>Any torch.save file, pickle only: what it holds and where its storages live.</summary>
    public static (object? Root, ITorchStorageLocator Locator) Load(ICheckpointStorage storage, string file, string role)
    {
        if (!storage.Exists(file))
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, file, null, $"the {role} file is missing");
        if (LegacyTorchSaveFile.HasSignature(storage, file))
        {
            var legacy = LegacyTorchSaveFile.Open(storage, file);
            return (legacy.Root, legacy);
        }
        var archive = TorchSaveArchive.Open(storage, file);
        return (archive.Root, archive);
    }

    /// <summary>The value at a path of string keys (`optimizer_state_dict`, `zero_stage`), or throws naming the path.</summary>
    public object? Require(params string[] path)
    {
        object? at = Root;
        for (int i = 0; i < path.Length; i++)
        {
            if (at is not PyDict d || !d.TryGetValue(path[i], out at))
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, File, null,
                    $"the DeepSpeed state has no '{string.Join(".", path[..(i + 1)])}'", expected: $"key '{path[i]}'",
                    found: at is PyDict dict ? $"keys {string.Join(", ", dict.Keys.Select(PyRepr.Of).Take(12))}" : PyRepr.TypeName(at));
        }
        return at;
    }

    public object? Get(params string[] path)
    {
        object? at = Root;
        foreach (var key in path)
            if (at is not PyDict d || !d.TryGetValue(key, out at)) return null;
        return at;
    }

    public T Require<T>(string what, object? value) where T : class =>
        value as T ?? throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, File, null,
            $"'{what}' has the wrong type", expected: typeof(T).Name, found: PyRepr.TypeName(value));

    public long RequireLong(string what, object? value) => AsLong(value)
        ?? throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, File, null,
            $"'{what}' is not an integer", expected: "int", found: PyRepr.Of(value));

    public static long? AsLong(object? value) => value switch
    {
        long l => l,
        int i => i,
        bool => null,
        BigInteger b when b >= long.MinValue && b <= long.MaxValue => (long)b,
        _ => null,
    };

    /// <summary>A torch.Size / tuple / list of non-negative ints.</summary>
    public IReadOnlyList<long> RequireShape(string name, object? value)
    {
        if (value is IReadOnlyList<object?> items && items.All(x => AsLong(x) is >= 0))
            return items.Select(x => AsLong(x)!.Value).ToArray();
        throw new CheckpointFormatException(FormatErrorReason.InvalidShape, File, name,
            "a parameter shape is a torch.Size of non-negative ints", expected: "torch.Size", found: PyRepr.Of(value));
    }

    public StorageFile ToStorageFile(ICheckpointStorage storage) => new(File, storage.Length(File));
}
