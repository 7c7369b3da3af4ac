using Ckpt.Monitoring;
using Ckpt.Resilience;

namespace Ckpt.Training;

/// <summary>
/// A fine-tuning run's resumable state as one committed step of a <see cref="CheckpointDirectory"/>:
/// `adapter_model.safetensors` + `adapter_config.json` (PEFT's files and key names, so every step folder loads as an
/// adapter), `trainer_state.safetensors` (AdamW moments `{key}.exp_avg`/`.exp_avg_sq`, torch's CPU generator state)
/// and `trainer_state.json` (step, optimizer step count, seed, recipe, LoRA settings). The directory supplies the
/// atomic commit and per-file checksums.
/// </summary>
internal static class TrainerCheckpoint
{
    public const string StateFile = "trainer_state.safetensors";
    public const string StateJsonFile = "trainer_state.json";
    /// <summary>Metadata key holding adapter_config.json's text; written as that file, not into the JSON state.</summary>
    public const string AdapterConfigKey = "adapter_config";

    public static bool IsAdapterTensor(string name) =>
        name.StartsWith(PeftLora.KeyPrefix, StringComparison.Ordinal) && (name.EndsWith(".lora_A.weight", StringComparison.Ordinal) || name.EndsWith(".lora_B.weight", StringComparison.Ordinal));

    /// <summary>Splits a snapshot into the adapter's and the trainer's files.</summary>
    public sealed class Writer : ISnapshotWriter
    {
        public void Write(Snapshot snapshot, ISnapshotSink sink, OperationTimeline timeline)
        {
            var adapter = snapshot.Tensors.Where(t => IsAdapterTensor(t.Name)).ToArray();
            var trainer = snapshot.Tensors.Where(t => !IsAdapterTensor(t.Name)).ToArray();
            var json = snapshot.Metadata.Where(kv => kv.Key != AdapterConfigKey).ToDictionary(kv => kv.Key, kv => kv.Value);
            new SafetensorsSnapshotWriter(PeftLora.WeightsFile).Write(new Snapshot(snapshot.Step, adapter) { Metadata = new Dictionary<string, string> { ["format"] = "pt" } }, sink, timeline);
            new SafetensorsSnapshotWriter(StateFile).Write(new Snapshot(snapshot.Step, trainer) { Metadata = json }, sink, timeline);

            var start = timeline.Now;
            var config = System.Text.Encoding.UTF8.GetBytes(snapshot.Metadata.TryGetValue(AdapterConfigKey, out var c) ? c : "{}");
            var state = JsonSerializer.SerializeToUtf8Bytes(json, new JsonSerializerOptions { WriteIndented = true });
            timeline.Record("serialise", StateJsonFile, start, config.Length + state.Length);
            start = timeline.Now;
            using (var f = sink.Create(PeftLora.ConfigFile)) f.Write(config);
            using (var f = sink.Create(StateJsonFile)) f.Write(state);
            timeline.Record("write", StateJsonFile, start, config.Length + state.Length);
        }
    }

    /// <summary>Verifies every checksum of <paramref name="checkpoint"/>, then copies its tensors into the live state; returns its metadata.</summary>
    public static IReadOnlyDictionary<string, string> Restore(CommittedCheckpoint checkpoint, IReadOnlyList<StateTensor> state)
    {
        Resilience.CheckpointDirectory.Verify(checkpoint);
        var byName = state.ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (var file in new[] { PeftLora.WeightsFile, StateFile })
        {
            var path = Path.Combine(checkpoint.Path, file);
            using var ckpt = Checkpoint.Open(path);
            foreach (var entry in ckpt.Manifest.Tensors)
            {
                if (!byName.Remove(entry.Name, out var live))
                    throw new CheckpointFormatException(FormatErrorReason.Unsupported, path, entry.Name,
                        "the checkpoint holds state this run does not have (different LoRA targets or model?)");
                if (entry.DType != live.DType || !entry.Shape.SequenceEqual(live.Shape))
                    throw new CheckpointFormatException(FormatErrorReason.InvalidShape, path, entry.Name, "the saved tensor does not fit the live one",
                        $"{live.DType} [{string.Join(",", live.Shape)}]", $"{entry.DType} [{string.Join(",", entry.Shape)}]");
                using var data = ckpt.Read(entry.Name);
                live.Restore(data.Bytes);
            }
        }
        if (byName.Count > 0)
            throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, checkpoint.Path, byName.Keys.First(),
                "the checkpoint lacks state this run needs (different LoRA targets or model?)");
        return checkpoint.Manifest.Metadata;
    }
}
