# 64 KiB real-mode firmware for naming tests: vCPU 0 halts, woken every millisecond by its
# x2APIC timer (vector 0x20), whose handler writes once to port 0x80 (an exit to qemu, then
# KVM_RUN again) and halts again; the application processors never get a SIPI. A vCPU thread
# thus spends its time blocked in KVM_RUN (/proc/PID/task/TID/syscall shows it) and re-enters it
# 1000 times a second.
.code16
.text
.globl _start
_start:
main:
    cli
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %ss
    mov $0x7000, %sp
    movw $tick, 0x80          # IVT entry 0x20: offset
    movw $0xf000, 0x82        # and segment
    mov $0x1b, %ecx           # IA32_APIC_BASE: enable x2APIC (EXTD, bit 10)
    rdmsr
    or $0xc00, %eax
    wrmsr
    xor %edx, %edx
    mov $0x80f, %ecx          # spurious vector register: APIC on
    mov $0x1ff, %eax
    wrmsr
    mov $0x83e, %ecx          # timer divide by 1
    mov $0xb, %eax
    wrmsr
    mov $0x832, %ecx          # LVT timer: vector 0x20, periodic
    mov $0x20020, %eax
    wrmsr
    mov $0x838, %ecx          # initial count: 1 ms at KVM's 1 GHz APIC bus
    mov $1000000, %eax
    wrmsr
    sti
1:  hlt
    jmp 1b
tick:
    pushal
    out %al, $0x80
    mov $0x80b, %ecx          # EOI
    xor %eax, %eax
    xor %edx, %edx
    wrmsr
    popal
    iret
. = 0xfff0
reset:
    ljmp $0xf000, $main
. = 0x10000
