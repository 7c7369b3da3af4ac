using Ckpt.Errors;
using Ckpt.Formats.DeepSpeed;
using Ckpt.Manifest;

namespace Ckpt.Tests.Formats;

/// <summary>
/// ZeRO checkpoints built from the documented layout (see <see cref="DeepSpeedFixture"/>: DeepSpeed is not available
/// here): a model with odd sizes (37×10 embedding, 23-wide MLP, a 0-d scalar) in two param groups, a frozen bf16
/// parameter, a buffer, a tied lm_head, 4 DP ranks, so alignment and per-parameter padding both matter.
/// </summary>
[Trait("Category", "slow")]
public class DeepSpeedZeroFormatTests
{
    [PythonTorchFact]
    public void Zero_2_with_4_ranks_consolidates_to_the_fp32_tensors_it_was_built_from() => AssertConsolidates("2", 4);

    [PythonTorchFact]
    public void Zero_3_with_4_ranks_consolidates_to_the_fp32_tensors_it_was_built_from() => AssertConsolidates("3", 4);

    [PythonTorchFact]
    public void Zero_1_with_3_ranks_consolidates_to_the_fp32_tensors_it_was_built_from() => AssertConsolidates("1", 3);

    [PythonTorchFact]
    public void A_bf16_optimizer_checkpoint_with_elastic_per_group_states_consolidates_the_same()
    {
        // BF16_Optimizer names rank files `bf16_zero_pp_rank_*`; an elastic checkpoint saves base_optimizer_state as a
        // list of per-group states cut to the lean partition (stage_1_and_2.py `_get_base_optimizer_state`).
        AssertConsolidates("2", 4, dir =>
        {
            foreach (var r in Enumerable.Range(0, 4))
            {
                var file = Path.Combine(dir, "global_step10", $"zero_pp_rank_{r}_mp_rank_00_optim_states.pt");
                DeepSpeedFixture.Edit(file, """
                    o = sd['optimizer_state_dict']
                    o['base_optimizer_state'] = [{k: (v if k == 'step' else v[:o['single_partition_of_fp32_groups'][g].numel()].clone())
                                                  for k, v in o['base_optimizer_state']['state'][g].items()} for g in range(2)]
                    """);
                File.Move(file, Path.Combine(dir, "global_step10", $"bf16_zero_pp_rank_{r}_mp_rank_00_optim_states.pt"));
            }
        });
    }

    static void AssertConsolidates(string stage, int world, Action<string>? edit = null)
    {
        var dir = DeepSpeedFixture.Build(stage, world);
        edit?.Invoke(dir);
        using var ckpt = Checkpoint.Open(dir);
        using var reference = Checkpoint.Open(Path.Combine(dir, "reference.pt"));
        ReferenceParity.AssertDescribed(ckpt, "deepspeed-zero", world);
        Assert.Equal(stage, ckpt.Manifest.Metadata["deepspeed.zero_stage"]);
        ReferenceParity.AssertSameTensors(reference, ckpt, $"after consolidating ZeRO-{stage} over {world} ranks");
        // The fp32 master weights are read in place from the rank files, one contiguous range per rank.
        var up = ckpt.GetEntry("embed.weight");
        Assert.All(up.Fragments, f => Assert.Contains("optim_states.pt", f.Payload.File));
        Assert.True(up.Fragments.Select(f => f.WriterRank).Distinct().Count() > 1);
    }

    [PythonTorchFact]
    public void Zero_3_parameters_are_read_from_one_contiguous_range_of_every_rank()
    {
        using var ckpt = Checkpoint.Open(DeepSpeedFixture.Build("3", 4));
        var embed = ckpt.GetEntry("embed.weight"); // 370 elements: ranks hold 93, 93, 93, 91
        Assert.Equal([0, 1, 2, 3], embed.Fragments.Select(f => f.WriterRank!.Value).Distinct().Order());
        foreach (var rank in Enumerable.Range(0, 4))
            Assert.Equal(rank < 3 ? 93 : 91, embed.Fragments.Where(f => f.WriterRank == rank).Sum(f => f.ElementCount));
        var scale = ckpt.GetEntry("scale"); // a 0-d parameter: rank 0 holds it, ranks 1-3 hold only padding
        Assert.Empty(scale.Shape);
        Assert.Equal(0, Assert.Single(scale.Fragments).WriterRank);
    }

    [PythonTorchFact]
    public void Partitions_that_disagree_with_param_shapes_name_the_file_and_the_element_counts()
    {
        var dir = DeepSpeedFixture.Build("2", 4);
        DeepSpeedFixture.Edit(Path.Combine(dir, "global_step10", "mp_rank_00_model_states.pt"),
            "sd['param_shapes'][0]['layers.0.mlp.up.weight'] = torch.Size([29, 10])");
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.ChunksDoNotCoverTensor, e.Reason);
        Assert.Contains("zero_pp_rank_3_mp_rank_00_optim_states.pt", e.File);
        Assert.NotNull(e.Expected);
        Assert.NotNull(e.Found);
    }

    [PythonTorchFact]
    public void Zero_3_partitions_that_disagree_with_param_shapes_are_refused()
    {
        var dir = DeepSpeedFixture.Build("3", 4);
        DeepSpeedFixture.Edit(Path.Combine(dir, "global_step10", "zero_pp_rank_0_mp_rank_00_model_states.pt"),
            "sd['param_shapes'][1]['norm.weight'] = torch.Size([14])");
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.ChunksDoNotCoverTensor, e.Reason);
        Assert.Contains("zero_pp_rank_0_mp_rank_00_optim_states.pt", e.File);
        Assert.Equal("242 elements", e.Expected);
        Assert.Equal("241 elements", e.Found);
    }

    [PythonTorchFact]
    public void A_missing_rank_file_is_named()
    {
        var dir = DeepSpeedFixture.Build("2", 4);
        File.Delete(Path.Combine(dir, "global_step10", "zero_pp_rank_2_mp_rank_00_optim_states.pt"));
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.Equal("global_step10/zero_pp_rank_2_mp_rank_00_optim_states.pt", e.File);
        Assert.Equal("4 rank files", e.Expected);
        Assert.Equal("ranks 0, 1, 3", e.Found);
    }

    [PythonTorchFact]
    public void A_partition_count_that_disagrees_with_the_rank_files_is_refused()
    {
        var dir = DeepSpeedFixture.Build("2", 4);
        foreach (var r in Enumerable.Range(0, 4))
            DeepSpeedFixture.Edit(Path.Combine(dir, "global_step10", $"zero_pp_rank_{r}_mp_rank_00_optim_states.pt"),
                "sd['optimizer_state_dict']['partition_count'] = [3, 3]");
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.MetadataInvalid, e.Reason);
        Assert.Contains("zero_pp_rank_3_mp_rank_00_optim_states.pt", e.File);
        Assert.Equal("partition_count 3", e.Found);
    }

    [PythonTorchFact]
    public void A_rank_file_with_another_partition_count_is_named()
    {
        var dir = DeepSpeedFixture.Build("3", 4);
        DeepSpeedFixture.Edit(Path.Combine(dir, "global_step10", "zero_pp_rank_1_mp_rank_00_optim_states.pt"),
            "sd['optimizer_state_dict']['partition_count'] = 2");
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.MetadataInvalid, e.Reason);
        Assert.Contains("zero_pp_rank_1_mp_rank_00_optim_states.pt", e.File);
        Assert.Equal("partition_count 2, stage 3", e.Found);
    }

    [PythonTorchFact]
    public void The_tag_folder_opened_directly_reads_the_same_checkpoint()
    {
        var dir = DeepSpeedFixture.Build("2", 4);
        using var root = Checkpoint.Open(dir);
        using var tag = Checkpoint.Open(Path.Combine(dir, "global_step10"));
        Assert.Equal(root.Manifest.Tensors.Select(t => t.Name), tag.Manifest.Tensors.Select(t => t.Name));
        Assert.Equal("global_step10", root.Manifest.Metadata["deepspeed.tag"]);
    }

    [PythonTorchFact]
    public void Deepspeed_classes_in_the_pickles_stay_inert_data()
    {
        using var ckpt = Checkpoint.Open(DeepSpeedFixture.Build("2", 4));
        var scaler = ckpt.Manifest.Objects.Single(o => o.Name == "optimizer_state_dict.loss_scaler");
        Assert.Equal("deepspeed.runtime.fp16.loss_scaler.DynamicLossScaler", scaler.Kind);
        Assert.Contains(ckpt.Manifest.Objects, o => o.Name == "ds_version" && (string?)o.Value == "0.16.4");
    }

    [PythonTorchFact]
    public void A_rank_file_whose_pickle_names_os_system_is_refused_without_running_it()
    {
        var dir = DeepSpeedFixture.Build("2", 4);
        var marker = Path.Combine(dir, "pwned");
        DeepSpeedFixture.Edit(Path.Combine(dir, "global_step10", "zero_pp_rank_1_mp_rank_00_optim_states.pt"), $"""
            class Evil:
                def __reduce__(self):
                    import os
                    return (os.system, ("touch {marker}",))
            sd['optimizer_state_dict']['loss_scaler'] = Evil()
            """);
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.ForbiddenPickleGlobal, e.Reason);
        Assert.Contains("zero_pp_rank_1_mp_rank_00_optim_states.pt", e.Message);
        Assert.False(File.Exists(marker));
    }

    [PythonTorchFact]
    public void Describing_reads_pickles_only_and_a_parameter_read_fetches_exactly_its_bytes()
    {
        using var ckpt = Checkpoint.Open(DeepSpeedFixture.Build("3", 4));
        Assert.Equal(0, ckpt.Storage.Statistics.TensorBytesRead);
        long before = ckpt.Storage.Statistics.TensorBytesRead;
        using var embed = ckpt.Read("embed.weight");
        Assert.Equal(37 * 10 * 4, ckpt.Storage.Statistics.TensorBytesRead - before); // the 2 padding elements of rank 3 are not read
    }
}
