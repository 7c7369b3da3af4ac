using System.Buffers.Binary;
using Ckpt.Formats.Safetensors;
using Ckpt.Monitoring;

namespace Ckpt.Resilience;

/// <summary>
/// Writes a snapshot as one `model.safetensors` file with the shared writer's header and tensor order
/// (<see cref="SafetensorsWriter.BuildHeader"/>), so a committed step opens with
/// <see cref="Checkpoint.Open(string, CancellationToken)"/> and matches what `ckpt convert` writes. The body
/// goes straight from the snapshot buffers to the checkpointer's sink, which hashes it on the way and
/// fsyncs once at commit; the shared writer's own temp-file-and-rename is not needed inside a step folder
/// that is itself renamed.
/// </summary>
internal sealed class SafetensorsSnapshotWriter(string fileName = SafetensorsSnapshotWriter.FileName) : ISnapshotWriter
{
    public const string FileName = "model.safetensors";
    const int WriteChunk = 4 << 20;

    public void Write(Snapshot snapshot, ISnapshotSink sink, OperationTimeline timeline)
    {
        var start = timeline.Now;
        var byName = snapshot.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var ordered = SafetensorsWriter.Order(snapshot.Tensors.Select(t =>
            new TensorSource(t.Name, t.DType, t.Shape, () => throw new InvalidOperationException("snapshot bytes are written directly"))));
        var metadata = new Dictionary<string, string>(snapshot.Metadata) { ["step"] = snapshot.Step.ToString() };
        var json = SafetensorsWriter.BuildHeader(ordered, metadata);
        var header = new byte[8 + json.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)json.Length);
        json.CopyTo(header, 8);
        timeline.Record("serialise", fileName, start, header.Length);

        start = timeline.Now;
        using var stream = sink.Create(fileName);
        stream.Write(header);
        foreach (var source in ordered)
        {
            var bytes = byName[source.Name].Bytes;
            if (bytes.Length != source.ByteCount)
                throw new InvalidOperationException($"tensor '{source.Name}' has {bytes.Length} bytes, its dtype and shape need {source.ByteCount}");
            for (int offset = 0; offset < bytes.Length; offset += WriteChunk)
                stream.Write(bytes.Span.Slice(offset, Math.Min(WriteChunk, bytes.Length - offset)));
        }
        timeline.Record("write", fileName, start, header.Length + snapshot.ByteCount);
    }
}
