namespace Ckpt.Storage;

/// <summary>
/// An object-store location as a user writes it: `s3://bucket/prefix` or `az://container/prefix`. The prefix is
/// a folder of objects ('/'-separated keys) or one object; it never starts or ends with '/'.
/// </summary>
public sealed record ObjectUrl(string Scheme, string Bucket, string Prefix)
{
    public const string S3 = "s3", Azure = "az";

    public static bool IsObjectUrl(string? path) =>
        path is not null && (path.StartsWith("s3://", StringComparison.Ordinal) || path.StartsWith("az://", StringComparison.Ordinal));

    public static ObjectUrl Parse(string url)
    {
        var scheme = url.StartsWith("s3://", StringComparison.Ordinal) ? S3
            : url.StartsWith("az://", StringComparison.Ordinal) ? Azure
            : throw new CheckpointFormatException(FormatErrorReason.StorageUnavailable, url, null, "not an s3:// or az:// URL");
        var rest = url[(scheme.Length + 3)..];
        int slash = rest.IndexOf('/');
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (bucket.Length == 0)
            throw new CheckpointFormatException(FormatErrorReason.StorageUnavailable, url, null,
                scheme == S3 ? "the URL names no bucket" : "the URL names no container");
        if (prefix.Split('/').Any(p => p is "." or "..") || prefix.Contains("//", StringComparison.Ordinal) || prefix.Contains('\0'))
            throw new CheckpointFormatException(FormatErrorReason.PathEscapesCheckpoint, url, null, "the prefix has an empty, '.' or '..' part");
        return new ObjectUrl(scheme, bucket, prefix);
    }

    /// <summary>The key of <paramref name="relative"/> under this prefix.</summary>
    public string Key(string relative) => Prefix.Length == 0 ? relative : relative.Length == 0 ? Prefix : $"{Prefix}/{relative}";

    public ObjectUrl Child(string relative) => this with { Prefix = Key(relative) };

    public ObjectUrl? Parent() => Prefix.Length == 0 ? null
        : this with { Prefix = Prefix.Contains('/') ? Prefix[..Prefix.LastIndexOf('/')] : "" };

    public string Name => Prefix.Contains('/') ? Prefix[(Prefix.LastIndexOf('/') + 1)..] : Prefix;

    public override string ToString() => Prefix.Length == 0 ? $"{Scheme}://{Bucket}" : $"{Scheme}://{Bucket}/{Prefix}";
}
