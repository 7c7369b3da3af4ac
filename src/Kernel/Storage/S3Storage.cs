using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Ckpt.Storage;

/// <summary>
/// A checkpoint under `s3://bucket/prefix`, through AWSSDK.S3. Credentials and region come from the SDK's standard
/// chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws files, AWS_REGION). When
/// AWS_ENDPOINT_URL is set (MinIO, Ceph, s3rver, a local proxy) requests go there with path-style addressing.
/// </summary>
public sealed class S3Storage : ObjectStorage
{
    readonly AmazonS3Client _client;

    public S3Storage(ObjectUrl url) : base(url) => _client = CreateClient();

    internal AmazonS3Client Client => _client;

    internal static AmazonS3Client CreateClient()
    {
        var config = new AmazonS3Config
        {
            // The SDK's own retries would hide throttling from ours; one policy, one count in the sentence.
            MaxErrorRetry = 0,
            Timeout = TimeSpan.FromMinutes(5),
            // Only when an operation requires it: S3-compatible servers (s3rver, older MinIO, Ceph) store the
            // aws-chunked trailer wrapper as content when the SDK sends flexible checksums over plain http.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        var endpoint = Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL_S3") ?? Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL");
        if (!string.IsNullOrEmpty(endpoint))
        {
            config.ServiceURL = endpoint;
            config.ForcePathStyle = true;
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("AWS_REGION")) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION")))
                config.AuthenticationRegion = "us-east-1";
        }
        else if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("AWS_REGION")) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION"))
                 && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("AWS_PROFILE")))
        {
            config.RegionEndpoint = RegionEndpoint.USEast1;
        }
        try
        {
            return new AmazonS3Client(config);
        }
        catch (AmazonClientException e)
        {
            throw new Errors.CheckpointFormatException(Errors.FormatErrorReason.StorageUnavailable, "s3://", null,
                $"no AWS credentials or region could be found ({Flatten(e)}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE");
        }
    }

    protected override IReadOnlyDictionary<string, long> ListAll()
    {
        var objects = new Dictionary<string, long>(StringComparer.Ordinal);
        var prefix = Url.Prefix.Length == 0 ? "" : Url.Prefix + "/";
        var request = new ListObjectsV2Request { BucketName = Url.Bucket, Prefix = prefix };
        do
        {
            var page = _client.ListObjectsV2Async(request).GetAwaiter().GetResult();
            foreach (var o in page.S3Objects ?? [])
                if (o.Key.Length > prefix.Length && !o.Key.EndsWith('/'))
                    objects[o.Key[prefix.Length..]] = o.Size ?? 0;
            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (request.ContinuationToken is not null);
        return objects;
    }

    protected override int ReadRange(string key, long offset, Span<byte> destination)
    {
        var request = new GetObjectRequest { BucketName = Url.Bucket, Key = key, ByteRange = new ByteRange(offset, offset + destination.Length - 1) };
        using var response = _client.GetObjectAsync(request).GetAwaiter().GetResult();
        return Fill(response.ResponseStream, destination);
    }

    protected override async Task<int> ReadRangeAsync(string key, long offset, Memory<byte> destination, CancellationToken ct)
    {
        var request = new GetObjectRequest { BucketName = Url.Bucket, Key = key, ByteRange = new ByteRange(offset, offset + destination.Length - 1) };
        using var response = await _client.GetObjectAsync(request, ct).ConfigureAwait(false);
        // Disposing the response aborts its connection, whatever the body stream does with the token.
        using var abort = ct.Register(response.Dispose);
        return await FillAsync(response.ResponseStream, destination, ct).ConfigureAwait(false);
    }

    /// <summary>Objects above this go up in parts of this size (S3 allows 10,000 parts of at least 5 MiB).</summary>
    const long PartBytes = 64L << 20;

    protected override void UploadObject(string key, string file)
    {
        long length = new FileInfo(file).Length;
        // UseChunkEncoding off: over plain http the SDK would otherwise send an aws-chunked body that some
        // S3-compatible servers (s3rver) store as the content itself, wrapper and all.
        if (length <= PartBytes)
        {
            _client.PutObjectAsync(new PutObjectRequest { BucketName = Url.Bucket, Key = key, FilePath = file, UseChunkEncoding = false })
                .GetAwaiter().GetResult();
            return;
        }
        var upload = _client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = Url.Bucket, Key = key }).GetAwaiter().GetResult();
        try
        {
            var parts = new PartETag[(int)((length + PartBytes - 1) / PartBytes)];
            Parallel.For(0, parts.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            {
                long at = i * PartBytes;
                var part = _client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = Url.Bucket, Key = key, UploadId = upload.UploadId, PartNumber = i + 1,
                    FilePath = file, FilePosition = at, PartSize = Math.Min(PartBytes, length - at), UseChunkEncoding = false,
                }).GetAwaiter().GetResult();
                parts[i] = new PartETag(i + 1, part.ETag);
            });
            _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = Url.Bucket, Key = key, UploadId = upload.UploadId, PartETags = [.. parts],
            }).GetAwaiter().GetResult();
        }
        catch
        {
            // An unfinished multipart upload is invisible to readers; aborting frees its parts.
            try { _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = Url.Bucket, Key = key, UploadId = upload.UploadId }).GetAwaiter().GetResult(); }
            catch (AmazonClientException) { }
            throw;
        }
    }

    protected override void DeleteObject(string key) =>
        _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Url.Bucket, Key = key }).GetAwaiter().GetResult();

    protected override bool IsTransient(Exception e) => e switch
    {
        AmazonServiceException { StatusCode: HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError } => true,
        AmazonServiceException { ErrorCode: "SlowDown" or "RequestTimeout" or "InternalError" or "ServiceUnavailable" } => true,
        AmazonServiceException s => s.InnerException is HttpRequestException or IOException or TimeoutException,
        HttpRequestException or IOException or TimeoutException or TaskCanceledException => true,
        AmazonClientException c => c.InnerException is HttpRequestException or IOException,
        _ => false,
    };

    protected override string? Describe(Exception e) => e switch
    {
        AmazonS3Exception { ErrorCode: "NoSuchBucket" } => $"the bucket {Url.Bucket} does not exist",
        AmazonS3Exception { ErrorCode: "NoSuchKey" } => "the object does not exist",
        AmazonS3Exception { StatusCode: HttpStatusCode.Forbidden } s => $"access denied ({s.ErrorCode}); check the AWS credentials",
        AmazonServiceException { StatusCode: var code } s when (int)code >= 400 => $"HTTP {(int)code} {s.ErrorCode}".TrimEnd(),
        AmazonClientException c when c.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase) =>
            "no AWS credentials were found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE",
        _ => null,
    };

    public override void Dispose() => _client.Dispose();
}
