/* NOT an entropy source: the QEMU boards have no TRNG, so for emulator runs this mixes the
 * board's tick phase (SysTick, mtime) into a xorshift state. Built only with BIFF_INSECURE_EMULATOR_RNG; the size
 * report warns when an image has it (it looks for this symbol). A product supplies biff_board_entropy() from its TRNG
 * instead. */
#include "board.h"

const char biff_insecure_emulator_rng[] = "entropy: emulator xorshift (BIFF_INSECURE_EMULATOR_RNG)";

int biff_board_entropy(unsigned char *out, size_t len)
{
    static uint32_t s = 0x9e3779b9u;
    for (size_t i = 0; i < len; i++) {
        s ^= biff_board_tick_phase();
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        out[i] = (unsigned char)s;
    }
    return biff_insecure_emulator_rng[0] ? 0 : -1; /* keeps the marker in the image */
}
