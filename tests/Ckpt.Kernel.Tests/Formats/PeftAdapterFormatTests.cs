using Ckpt.Errors;
using Ckpt.Tests.Cli;

namespace Ckpt.Tests.Formats;

/// <summary>PEFT adapter folders and HF Trainer `checkpoint-N/` folders open as the adapter (or model) they hold.</summary>
public class PeftAdapterFormatTests
{
    static string Adapter => TestPaths.Fixture("peft-lora-llama-tiny");

    /// <summary>A copy of the adapter with the files HF Trainer saves beside it (their bytes do not matter here).</summary>
    static string TrainerCheckpoint(string weightsFrom, params string[] weights)
    {
        var dir = TestPaths.TempDirectory("checkpoint-40");
        foreach (var f in weights) File.Copy(Path.Combine(weightsFrom, f), Path.Combine(dir, f));
        foreach (var f in new[] { "optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin" })
            File.Copy(TestPaths.Fixture("torch-save", "variety.pt"), Path.Combine(dir, f));
        File.WriteAllText(Path.Combine(dir, "trainer_state.json"), """{"global_step": 40, "log_history": []}""");
        return dir;
    }

    [Fact]
    public void A_peft_adapter_folder_shows_base_model_r_alpha_targets_and_modules_to_save_beside_its_tensors()
    {
        using var ckpt = Checkpoint.Open(Adapter);
        using var weights = Checkpoint.Open(Path.Combine(Adapter, "adapter_model.safetensors"));

        Assert.Equal(("peft-adapter", "peft"), (ckpt.Manifest.Format, ckpt.Manifest.Framework));
        Assert.Equal(weights.Manifest.Tensors.Select(t => t.Name), ckpt.Manifest.Tensors.Select(t => t.Name));
        var m = ckpt.Manifest.Metadata;
        Assert.Equal(("../hf-llama-tiny-sharded", "LORA", "4", "8"), (m["peft.base_model"], m["peft.type"], m["peft.r"], m["peft.lora_alpha"]));
        Assert.Equal("v_proj, down_proj, q_proj", m["peft.target_modules"]);
        Assert.Equal("none", m["peft.modules_to_save"]);
    }

    [Fact]
    public void A_trainer_checkpoint_folder_opens_as_the_adapter_with_the_trainer_state_listed()
    {
        var dir = TrainerCheckpoint(Adapter, "adapter_config.json", "adapter_model.safetensors");

        using var ckpt = Checkpoint.Open(dir);

        Assert.Equal("peft-adapter", ckpt.Manifest.Format);
        Assert.Equal("optimizer.pt, rng_state.pth, scheduler.pt, trainer_state.json, training_args.bin", ckpt.Manifest.Metadata["trainer.files"]);
        Assert.Equal("40", ckpt.Manifest.Metadata["trainer.global_step"]);
    }

    [Fact]
    public void A_trainer_checkpoint_folder_of_a_whole_model_opens_as_the_model_with_the_trainer_state_listed()
    {
        var dir = TrainerCheckpoint(TestPaths.Fixture("hf-gpt2-tiny"), "config.json", "model.safetensors");

        using var ckpt = Checkpoint.Open(dir);

        Assert.Equal("safetensors", ckpt.Manifest.Format);
        Assert.Contains("optimizer.pt", ckpt.Manifest.Metadata["trainer.files"]);
    }

    [Fact]
    public void An_adapter_config_that_is_not_an_object_is_refused_as_invalid_metadata()
    {
        var dir = TestPaths.TempDirectory("peft-array");
        File.Copy(Path.Combine(Adapter, "adapter_model.safetensors"), Path.Combine(dir, "adapter_model.safetensors"));
        File.WriteAllText(Path.Combine(dir, "adapter_config.json"), "[4, 8]");

        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));

        Assert.Equal(FormatErrorReason.MetadataInvalid, e.Reason);
    }

    [Fact]
    public void An_adapter_config_without_its_weights_names_the_missing_file()
    {
        var dir = TestPaths.TempDirectory("peft-no-weights");
        File.Copy(Path.Combine(Adapter, "adapter_config.json"), Path.Combine(dir, "adapter_config.json"));

        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));

        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.Contains("adapter_model.safetensors", e.Message);
    }

    [Fact]
    public void Inspect_prints_the_adapter_settings()
    {
        var (code, stdout, _) = CliRunner.Run("inspect", Adapter);

        Assert.Equal(0, code);
        Assert.Contains("peft.r", stdout);
        Assert.Contains("peft.target_modules", stdout);
    }
}
