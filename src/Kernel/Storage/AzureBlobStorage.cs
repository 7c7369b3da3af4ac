using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Ckpt.Storage;

/// <summary>
/// A checkpoint under `az://container/prefix`, through Azure.Storage.Blobs, with the account named by
/// AZURE_STORAGE_CONNECTION_STRING (Azurite's development string included).
/// </summary>
public sealed class AzureBlobStorage : ObjectStorage
{
    readonly BlobContainerClient _container;

    public AzureBlobStorage(ObjectUrl url) : base(url) => _container = CreateContainerClient(url);

    internal BlobContainerClient Container => _container;

    internal static BlobContainerClient CreateContainerClient(ObjectUrl url)
    {
        var connection = Environment.GetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING");
        if (string.IsNullOrWhiteSpace(connection))
            throw new CheckpointFormatException(FormatErrorReason.StorageUnavailable, url.ToString(), null,
                "AZURE_STORAGE_CONNECTION_STRING is not set, so there is no storage account to read");
        var options = new BlobClientOptions();
        // One retry policy (ObjectStorage's), so the sentence can say how many attempts were made.
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = TimeSpan.FromMinutes(5);
        try
        {
            return new BlobServiceClient(connection, options).GetBlobContainerClient(url.Bucket);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new CheckpointFormatException(FormatErrorReason.StorageUnavailable, url.ToString(), null,
                $"AZURE_STORAGE_CONNECTION_STRING is not a valid connection string ({Flatten(e)})");
        }
    }

    protected override IReadOnlyDictionary<string, long> ListAll()
    {
        var objects = new Dictionary<string, long>(StringComparer.Ordinal);
        var prefix = Url.Prefix.Length == 0 ? "" : Url.Prefix + "/";
        foreach (var blob in _container.GetBlobs(BlobTraits.None, BlobStates.None, prefix.Length == 0 ? null : prefix, CancellationToken.None))
            if (blob.Name.Length > prefix.Length && !blob.Name.EndsWith('/'))
                objects[blob.Name[prefix.Length..]] = blob.Properties.ContentLength ?? 0;
        return objects;
    }

    protected override int ReadRange(string key, long offset, Span<byte> destination)
    {
        var options = new BlobDownloadOptions { Range = new HttpRange(offset, destination.Length) };
        using var result = _container.GetBlobClient(key).DownloadStreaming(options).Value;
        return Fill(result.Content, destination);
    }

    protected override async Task<int> ReadRangeAsync(string key, long offset, Memory<byte> destination, CancellationToken ct)
    {
        var options = new BlobDownloadOptions { Range = new HttpRange(offset, destination.Length) };
        using var result = (await _container.GetBlobClient(key).DownloadStreamingAsync(options, ct).ConfigureAwait(false)).Value;
        using var abort = ct.Register(result.Dispose);
        return await FillAsync(result.Content, destination, ct).ConfigureAwait(false);
    }

    protected override void UploadObject(string key, string file) =>
        // The SDK stages blocks and commits the block list at the end: the blob appears whole or not at all.
        _container.GetBlobClient(key).Upload(file, new BlobUploadOptions
        {
            TransferOptions = new Azure.Storage.StorageTransferOptions { MaximumConcurrency = 4, MaximumTransferSize = 64L << 20, InitialTransferSize = 64L << 20 },
        });

    protected override void DeleteObject(string key) => _container.GetBlobClient(key).DeleteIfExists();

    protected override bool IsTransient(Exception e) => e switch
    {
        RequestFailedException { Status: 429 or >= 500 } => true,
        RequestFailedException { Status: 0 } => true, // no response: connection refused or dropped
        AggregateException a => a.InnerExceptions.All(IsTransient),
        HttpRequestException or IOException or TimeoutException or TaskCanceledException => true,
        _ => false,
    };

    protected override string? Describe(Exception e) => e switch
    {
        RequestFailedException { ErrorCode: "ContainerNotFound" } => $"the container {Url.Bucket} does not exist",
        RequestFailedException { ErrorCode: "BlobNotFound" } => "the blob does not exist",
        RequestFailedException { Status: 403 } r => $"access denied ({r.ErrorCode}); check AZURE_STORAGE_CONNECTION_STRING",
        RequestFailedException { Status: > 0 } r => $"HTTP {r.Status} {r.ErrorCode}".TrimEnd(),
        AggregateException a when a.InnerExceptions.Count > 0 => Flatten(a.InnerExceptions[^1]),
        _ => null,
    };

    public override void Dispose() { }
}
