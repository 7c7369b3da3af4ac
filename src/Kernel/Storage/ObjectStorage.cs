namespace Ckpt.Storage;

/// <summary>
/// A checkpoint under an object-store prefix. The prefix is listed once when opened (one paged LIST instead of a
/// HEAD per Exists/Length), so the checkpoint is the snapshot of that moment; reads are ranged GETs, retried with
/// exponential backoff on throttling, 5xx and dropped connections, then refused in one sentence naming the object.
/// </summary>
public abstract class ObjectStorage : ICheckpointStorage, IDisposable
{
    /// <summary>Attempts per request; backoff 0.2 s, 0.4 s, 0.8 s, 1.6 s between them (about 3 s in all).</summary>
    public const int Attempts = 5;
    static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(200);

    readonly Lazy<IReadOnlyDictionary<string, long>> _objects;

    protected ObjectStorage(ObjectUrl url)
    {
        Url = url;
        _objects = new(() => Retry(Url.ToString(), ListAll));
    }

    public ObjectUrl Url { get; }
    public string Root => Url.ToString();
    public IoStatistics Statistics { get; } = new();
    /// <summary>
    /// Object-store planning: larger gaps read through, 8 MiB ranged GETs in parallel, a bound on bytes in flight
    /// (<see cref="Planning.ReadTuning.ObjectStore"/>); settable before reading, for a store whose round trip differs.
    /// </summary>
    public Planning.ReadTuning Tuning { get; set; } = Planning.ReadTuning.ObjectStore();

    /// <summary>Every object under the prefix: key relative to the prefix → length.</summary>
    protected abstract IReadOnlyDictionary<string, long> ListAll();

    /// <summary>Reads <paramref name="destination"/>.Length bytes of <paramref name="key"/> at <paramref name="offset"/>; returns how many came.</summary>
    protected abstract int ReadRange(string key, long offset, Span<byte> destination);

    /// <summary>As <see cref="ReadRange"/>, for read-ahead: cancelling <paramref name="ct"/> stops the GET.</summary>
    protected abstract Task<int> ReadRangeAsync(string key, long offset, Memory<byte> destination, CancellationToken ct);

    /// <summary>Whether a failed request is worth repeating (throttled, 5xx, timeout, connection dropped).</summary>
    protected abstract bool IsTransient(Exception e);

    /// <summary>The sentence for a failure that is not retried or outlived its retries; null to let it through.</summary>
    protected abstract string? Describe(Exception e);

    /// <summary>Uploads the local file <paramref name="file"/> as <paramref name="relative"/> (multipart when large); replaces an object of that name.</summary>
    protected abstract void UploadObject(string key, string file);

    protected abstract void DeleteObject(string key);

    /// <summary>Uploads <paramref name="file"/> to <paramref name="relative"/>, with the read path's retries.</summary>
    public void Upload(string relative, string file) => Retry($"{Root}/{relative}", () => { UploadObject(Url.Key(Check(relative)), file); return 0; });

    public void Delete(string relative) => Retry($"{Root}/{relative}", () => { DeleteObject(Url.Key(Check(relative))); return 0; });

    public IReadOnlyDictionary<string, long> Objects => _objects.Value;

    public bool Exists(string path) => Objects.ContainsKey(Check(path));

    public long Length(string path) => Objects.TryGetValue(Check(path), out var n) ? n
        : throw new CheckpointFormatException(FormatErrorReason.MissingFile, path, null, $"no such object under {Root}");

    public IReadOnlyList<string> List(string directory = "") => FlatKeys.List(Objects.Keys, directory);
    public IReadOnlyList<string> Folders(string directory = "") => FlatKeys.Folders(Objects.Keys, directory);

    public void Read(string path, long offset, Span<byte> destination, IoCategory category)
    {
        if (!Starts(path, offset, destination.Length)) return;
        int done = 0;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                while (done < destination.Length)
                    done += Ended(path, offset, destination.Length, done, ReadRange(Url.Key(path), offset + done, destination[done..]));
                break;
            }
            catch (Exception e) when (e is not CheckpointFormatException && e is not OperationCanceledException)
            {
                Thread.Sleep(Backoff($"{Root}/{path}", e, attempt));
            }
        }
        Statistics.Record(category, destination.Length);
    }

    /// <summary>
    /// <see cref="Read"/> for read-ahead (<see cref="Planning.ReadAhead"/>): the same checks, retries and sentences, and
    /// cancelling <paramref name="ct"/> stops the GET in flight and the backoff between attempts.
    /// </summary>
    internal async Task ReadAsync(string path, long offset, Memory<byte> destination, IoCategory category, CancellationToken ct)
    {
        if (!Starts(path, offset, destination.Length)) return;
        int done = 0;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                while (done < destination.Length)
                    done += Ended(path, offset, destination.Length, done,
                        await ReadRangeAsync(Url.Key(path), offset + done, destination[done..], ct).ConfigureAwait(false));
                break;
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                // A cancelled GET may surface as the SDK's own exception (a disposed stream, an aborted connection).
                throw new OperationCanceledException(ct);
            }
            catch (Exception e) when (e is not CheckpointFormatException && e is not OperationCanceledException)
            {
                await Task.Delay(Backoff($"{Root}/{path}", e, attempt), ct).ConfigureAwait(false);
            }
        }
        Statistics.Record(category, destination.Length);
    }

    /// <summary>Whether a read of <paramref name="count"/> bytes at <paramref name="offset"/> has anything to fetch.</summary>
    /// <exception cref="CheckpointFormatException">The object ends before the range does.</exception>
    bool Starts(string path, long offset, int count)
    {
        long length = Length(path);
        if (offset < 0 || offset + count > length)
            throw new CheckpointFormatException(FormatErrorReason.Truncated, path, null,
                $"the file ends before byte {offset + count}",
                expected: $"{offset + count} bytes", found: $"{length} bytes");
        return count > 0;
    }

    /// <summary>The bytes one GET of a read returned.</summary>
    /// <exception cref="CheckpointFormatException">None: the object ended early, so it changed while being read.</exception>
    static int Ended(string path, long offset, int count, int done, int n) => n != 0 ? n
        : throw new CheckpointFormatException(FormatErrorReason.Truncated, path, null,
            $"the object ended before byte {offset + count}; it changed while being read",
            expected: $"{offset + count} bytes", found: $"{offset + done} bytes");

    /// <summary>How long to wait before the next attempt of a request on <paramref name="name"/> that failed with <paramref name="e"/>.</summary>
    /// <exception cref="Exception">The failure as one sentence, when it is not transient or the attempts are spent.</exception>
    TimeSpan Backoff(string name, Exception e, int attempt) =>
        attempt >= Attempts || !IsTransient(e) ? throw Failed(name, e, attempt) : FirstBackoff * (1 << (attempt - 1));

    /// <summary>Runs one request with the same retries as reads.</summary>
    protected T Retry<T>(string name, Func<T> request)
    {
        for (int attempt = 1; ; attempt++)
        {
            try { return request(); }
            catch (Exception e) when (e is not CheckpointFormatException && e is not OperationCanceledException)
            {
                Thread.Sleep(Backoff(name, e, attempt));
            }
        }
    }

    CheckpointFormatException Failed(string name, Exception e, int attempts)
    {
        var why = Describe(e) ?? Flatten(e);
        var tries = attempts > 1 ? $" after {attempts} attempts" : "";
        return new CheckpointFormatException(FormatErrorReason.StorageUnavailable, name, null, $"the object store failed{tries}: {why}", inner: e);
    }

    protected static string Flatten(Exception e)
    {
        while (e.InnerException is not null && (e is AggregateException || string.IsNullOrWhiteSpace(e.Message))) e = e.InnerException;
        var first = e.Message.Split('\n')[0].Trim().TrimEnd('.');
        return e.InnerException is { } inner && inner.Message.Length > 0 && !first.Contains(inner.Message.TrimEnd('.'), StringComparison.Ordinal)
            ? $"{first} ({inner.Message.Split('\n')[0].Trim().TrimEnd('.')})" : first;
    }

    static string Check(string path) => FlatKeys.Check(path);

    /// <summary>Reads <paramref name="body"/> into <paramref name="destination"/> until it is full or the body ends; returns the bytes read.</summary>
    protected static int Fill(Stream body, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int n = body.Read(destination[done..]);
            if (n == 0) break;
            done += n;
        }
        return done;
    }

    /// <summary><see cref="Fill"/> for read-ahead: cancelling <paramref name="ct"/> stops reading the body.</summary>
    protected static async Task<int> FillAsync(Stream body, Memory<byte> destination, CancellationToken ct)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int n = await body.ReadAsync(destination[done..], ct).ConfigureAwait(false);
            if (n == 0) break;
            done += n;
        }
        return done;
    }

    public abstract void Dispose();

    /// <summary>The storage for <paramref name="url"/>: S3 or Azure Blob, configured from the environment.</summary>
    public static ObjectStorage Open(ObjectUrl url) => url.Scheme == ObjectUrl.S3 ? new S3Storage(url) : new AzureBlobStorage(url);
}
