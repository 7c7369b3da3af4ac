using Ckpt.Tensors;
using TorchSharp;

namespace Ckpt.Tests.Tensors;

/// <summary>The one `--device` reading (<see cref="ComputeDevice"/>) and the one `--threads` check (<see cref="LibTorchThreads"/>).</summary>
public class ComputeDeviceTests
{
    [Theory]
    [InlineData("cpu", "cpu")]
    [InlineData("CPU", "cpu")]
    [InlineData(" CUDA ", "cuda")]
    [InlineData("cuda", "cuda")]
    [InlineData("cuda:0", "cuda:0")]
    [InlineData("cuda:1", "cuda:1")]
    [InlineData("Cuda:12", "cuda:12")]
    public void Cpu_cuda_and_cuda_N_are_read_trimmed_in_any_case(string text, string normalised)
    {
        Assert.Equal(normalised, ComputeDevice.Parse(text).ToString());
    }

    [Fact]
    public void Not_given_is_the_cpu()
    {
        Assert.Equal(ComputeDevice.Cpu, ComputeDevice.Parse(null));
        Assert.False(ComputeDevice.Parse(null).IsCuda);
    }

    [Fact]
    public void Cuda_N_keeps_its_index_and_cuda_alone_has_none()
    {
        Assert.Equal(new ComputeDevice(DeviceType.CUDA, 1), ComputeDevice.Parse("cuda:1"));
        Assert.Equal(new ComputeDevice(DeviceType.CUDA, null), ComputeDevice.Parse("cuda"));
        Assert.True(ComputeDevice.Parse("cuda:3").IsCuda);
    }

    [Theory]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:+1")]
    [InlineData("cuda: 1")]
    [InlineData("cuda:1x")]
    [InlineData("cuda:99999999999")]
    [InlineData("cudax")]
    [InlineData("cuda0")]
    [InlineData("gpu")]
    [InlineData("tpu")]
    [InlineData("cpu:0")]
    [InlineData("mps")]
    [InlineData("")]
    [InlineData(" ")]
    public void Anything_else_is_one_sentence_naming_it(string text)
    {
        Assert.False(ComputeDevice.TryParse(text, out _));
        Assert.Equal($"--device must be cpu, cuda or cuda:N, not '{text}'", Assert.Throws<ArgumentException>(() => ComputeDevice.Parse(text)).Message);
    }

    /// <summary>The mapping to TorchSharp, checked without a GPU: a device value is only a type and an index until a tensor is put on it.</summary>
    [Fact]
    public void The_torch_device_has_the_type_and_index_given()
    {
        var cpu = ComputeDevice.Parse("cpu").ToTorch();
        Assert.Equal(DeviceType.CPU, cpu.type);
        var cuda1 = ComputeDevice.Parse(" CUDA:1 ").ToTorch();
        Assert.Equal(DeviceType.CUDA, cuda1.type);
        Assert.Equal(1, cuda1.index);
        Assert.Equal(DeviceType.CUDA, ComputeDevice.Parse("cuda").ToTorch().type);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Threads_below_one_are_one_sentence_with_the_value(int threads)
    {
        Assert.Equal($"--threads must be positive, not {threads}", Assert.Throws<ArgumentException>(() => LibTorchThreads.Check(threads)).Message);
    }

    [Fact]
    public void Threads_not_given_or_positive_pass()
    {
        LibTorchThreads.Check(null);
        LibTorchThreads.Check(1);
    }
}
