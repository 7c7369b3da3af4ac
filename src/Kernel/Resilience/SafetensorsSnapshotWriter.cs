using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Ckpt.Monitoring;

namespace Ckpt.Resilience;

/// <summary>
/// Writes a snapshot as one `model.safetensors` file (u64 LE header length, JSON header padded with spaces
/// to 8 bytes, then the tensors back to back), so a committed step opens with <see cref="Checkpoint.Open(string, CancellationToken)"/>.
/// A stand-in until the shared safetensors writer is used here.
/// </summary>
internal sealed class SafetensorsSnapshotWriter : ISnapshotWriter
{
    public const string FileName = "model.safetensors";
    const int WriteChunk = 4 << 20;

    public void Write(Snapshot snapshot, ISnapshotSink sink, OperationTimeline timeline)
    {
        var start = timeline.Now;
        var header = Header(snapshot);
        timeline.Record("serialise", FileName, start, header.Length);

        start = timeline.Now;
        using var stream = sink.Create(FileName);
        stream.Write(header);
        foreach (var t in snapshot.Tensors)
            for (int offset = 0; offset < t.Bytes.Length; offset += WriteChunk)
                stream.Write(t.Bytes.Span.Slice(offset, Math.Min(WriteChunk, t.Bytes.Length - offset)));
        timeline.Record("write", FileName, start, header.Length + snapshot.ByteCount);
    }

    static byte[] Header(Snapshot snapshot)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            json.WriteString("step", snapshot.Step.ToString());
            foreach (var kv in snapshot.Metadata) json.WriteString(kv.Key, kv.Value);
            json.WriteEndObject();
            long offset = 0;
            foreach (var t in snapshot.Tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.ToString());
                json.WriteStartArray("shape");
                foreach (var d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + t.Bytes.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += t.Bytes.Length;
            }
            json.WriteEndObject();
        }
        int padded = (int)((buffer.Length + 7) / 8 * 8);
        var header = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)padded);
        buffer.ToArray().CopyTo(header, 8);
        header.AsSpan(8 + (int)buffer.Length).Fill((byte)' ');
        return header;
    }
}
