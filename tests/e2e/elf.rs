//! Just enough of ELF to say what machine a binary is for, whether it is
//! static, and whether UPX packed it.

/// What an ELF header says.
#[derive(Debug, PartialEq, Eq)]
pub struct Elf {
    /// `x86-64`, `aarch64` or `arm`.
    pub machine: &'static str,
    pub bits: u8,
    /// ARM only: EABI version 5.
    pub arm_eabi5: bool,
    /// ARM only: the hard-float (VFP registers) calling convention flag.
    /// C compilers set it; Go does not (its own ABI passes no floats in VFP
    /// registers), so for Go `GOARM=7` in the build info says the same.
    pub arm_hard_float: bool,
    /// No PT_INTERP: nothing is loaded at run time.
    pub is_static: bool,
    /// UPX's magic is in the file.
    pub upx_packed: bool,
}

const PT_INTERP: u32 = 3;
const EF_ARM_EABI_VER5: u32 = 0x0500_0000;
const EF_ARM_ABI_FLOAT_HARD: u32 = 0x0000_0400;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Parses a little-endian ELF file's header; `None` if it is not one.
pub fn parse(b: &[u8]) -> Option<Elf> {
    if b.get(0..4)? != b"\x7fELF" || *b.get(5)? != 1 {
        return None;
    }
    let bits = match b.get(4)? {
        1 => 32,
        2 => 64,
        _ => return None,
    };
    let machine = match u16_at(b, 18)? {
        0x3e => "x86-64",
        0xb7 => "aarch64",
        0x28 => "arm",
        _ => "other",
    };
    let (flags, phoff, phentsize, phnum) = if bits == 64 {
        (
            u32_at(b, 48)?,
            u64_at(b, 32)? as usize,
            u16_at(b, 54)? as usize,
            u16_at(b, 56)? as usize,
        )
    } else {
        (
            u32_at(b, 36)?,
            u32_at(b, 28)? as usize,
            u16_at(b, 42)? as usize,
            u16_at(b, 44)? as usize,
        )
    };
    let mut is_static = true;
    for i in 0..phnum {
        if u32_at(b, phoff + i * phentsize)? == PT_INTERP {
            is_static = false;
        }
    }
    Some(Elf {
        machine,
        bits,
        arm_eabi5: machine == "arm" && flags & 0xff00_0000 == EF_ARM_EABI_VER5,
        arm_hard_float: machine == "arm" && flags & EF_ARM_ABI_FLOAT_HARD != 0,
        is_static,
        upx_packed: b.windows(4).any(|w| w == b"UPX!"),
    })
}
