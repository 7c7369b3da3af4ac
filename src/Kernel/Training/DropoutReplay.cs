using Ckpt.Models;

namespace Ckpt.Training;

/// <summary>
/// LoRA dropout's random state for gradient checkpointing: a recomputed layer must draw the masks its forward drew.
/// On the CPU dropout draws from the run's own generator, whose state is saved and put back (so a checkpointed run
/// draws exactly what an uncheckpointed one does). On CUDA it draws from the device's default generator, whose state
/// TorchSharp cannot read, so each checkpointed forward first reseeds it from (step seed, draw count) and the
/// recompute reseeds it the same way: the masks differ from an uncheckpointed run's but are reproduced exactly, and a
/// resumed run draws the same ones.
/// </summary>
sealed class DropoutReplay(Device device, Generator cpu) : IRandomStateKeeper
{
    long _stepSeed;
    long _draws;

    public void Reset(long stepSeed)
    {
        _stepSeed = stepSeed;
        _draws = 0;
    }

    public object Capture()
    {
        // Bytes, not the state tensor: backward reads it long after the forward's dispose scope, and a forward whose
        // loss is never back-propagated would leave the tensor's native handle to the garbage collector.
        if (device.type != DeviceType.CUDA)
        {
            using var state = cpu.get_state();
            return state.data<byte>().ToArray();
        }
        long seed = unchecked(_stepSeed * 6_364_136_223_846_793_005L + ++_draws);
        cuda.manual_seed_all(seed);
        return seed;
    }

    public void Restore(object state)
    {
        if (state is byte[] bytes)
        {
            using var saved = tensor(bytes, ScalarType.Byte);
            cpu.set_state(saved);
        }
        else cuda.manual_seed_all((long)state);
    }
}
