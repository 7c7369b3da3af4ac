using System.IO.Hashing;

namespace Ckpt.Resilience;

/// <summary>
/// A write-only file that hashes and counts what passes through it, so the manifest's digests describe
/// exactly the bytes handed to the kernel, without reading the file back.
/// </summary>
internal sealed class ChecksummingFile : Stream
{
    readonly FileStream _file;
    readonly XxHash3 _hash = new();

    public ChecksummingFile(string path)
    {
        Name = Path.GetFileName(path);
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
    }

    public string Name { get; }
    public long Written { get; private set; }
    public string Digest => _hash.GetCurrentHashAsUInt64().ToString("x16");

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _hash.Append(buffer);
        _file.Write(buffer);
        Written += buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <summary>fsync: the data and the size are on the device when this returns.</summary>
    public void Sync() => _file.Flush(flushToDisk: true);

    protected override void Dispose(bool disposing)
    {
        // Writers dispose the stream they were given; the file stays open until the checkpointer has synced it.
        if (disposing) _file.Flush();
    }

    public void Close(bool sync)
    {
        if (sync) Sync();
        _file.Dispose();
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Written;
    public override long Position { get => Written; set => throw new NotSupportedException(); }
    public override void Flush() => _file.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
